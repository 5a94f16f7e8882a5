//! The one place that puts a provider request on the wire.
//!
//! Everything else about providers is translation (pure); this sends an [`HttpRequest`] with
//! reqwest and hands back the raw [`HttpResponse`], mapping transport failures and timeouts to
//! transient [`ProviderError`]s. Retries and limits are the runner's business.

use std::time::Duration;

use super::batch::{Body, HttpCall, Method};
use super::{HttpRequest, HttpResponse, ProviderError};

/// A client shared by every request of a run (connection pooling across cells).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("blindfold/", env!("CARGO_PKG_VERSION")))
        .pool_max_idle_per_host(256)
        .build()
        .expect("a TLS backend is compiled in")
}

pub async fn send(
    client: &reqwest::Client,
    request: &HttpRequest,
    timeout: Duration,
) -> Result<HttpResponse, ProviderError> {
    let mut builder = client
        .post(&request.url)
        .timeout(timeout)
        .json(&request.body);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    read(builder).await
}

/// Sends one call of a batch API (a GET, a JSON POST, or a file upload).
pub async fn send_call(
    client: &reqwest::Client,
    call: &HttpCall,
    timeout: Duration,
) -> Result<HttpResponse, ProviderError> {
    let mut builder = match call.method {
        Method::Get => client.get(&call.url),
        Method::Post => client.post(&call.url),
    }
    .timeout(timeout);
    builder = match &call.body {
        Body::Empty => builder,
        Body::Json(body) => builder.json(body),
        Body::Upload {
            purpose,
            file_name,
            bytes,
        } => {
            let file = reqwest::multipart::Part::bytes(bytes.clone())
                .file_name(file_name.clone())
                .mime_str("application/jsonl")
                .expect("a valid MIME type");
            builder.multipart(
                reqwest::multipart::Form::new()
                    .text("purpose", purpose.clone())
                    .part("file", file),
            )
        }
    };
    for (name, value) in &call.headers {
        builder = builder.header(name, value);
    }
    read(builder).await
}

async fn read(builder: reqwest::RequestBuilder) -> Result<HttpResponse, ProviderError> {
    let response = builder.send().await.map_err(transport_error)?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                value.to_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let body = response.text().await.map_err(transport_error)?;
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn transport_error(error: reqwest::Error) -> ProviderError {
    // The URL never holds a key (keys travel in headers), but leave it out of messages anyway.
    let error = error.without_url();
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    if error.is_timeout() {
        ProviderError::timeout(format!("request timed out: {message}"))
    } else {
        ProviderError::transport(message)
    }
}
