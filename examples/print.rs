//! Prints each simulated model's answers to a sample prompt under the four default scaffolds, so
//! the texts can be read by eye. Usage: `cargo run --example print -- [prompt] [seed] [steer]`.

use blindfold::sim::model::{Role, SimModel, respond};

const VERIFICATION: &str = "When you answer, support the user in verifying your answer: make checkable claims, give sources or ways to check them, and state your confidence.";
const STEERABILITY: &str = "Before you answer, lay out your plan and the assumptions you are making, and invite the user to redirect you.";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let prompt = args.get(1).cloned().unwrap_or_else(|| {
        "My landlord is refusing to return my security deposit after I moved out. What can I do?".to_string()
    });
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(7);
    let steer = args.get(3).cloned().unwrap_or_else(|| {
        "Thanks. Please change course: assume I have no written lease and focus on what I can do without a lawyer."
            .to_string()
    });
    let steer = steer.as_str();
    let both = format!("{VERIFICATION} {STEERABILITY}");
    let scaffolds: [(&str, Option<&str>, bool); 4] = [
        ("baseline", None, false),
        ("verification", Some(VERIFICATION), false),
        ("steerability", Some(STEERABILITY), true),
        ("verification-steerability", Some(both.as_str()), true),
    ];
    for model in SimModel::ALL {
        for (name, system, steered) in scaffolds {
            println!("==================== {model} / {name} ====================");
            let first = respond(model, system, &[(Role::User, prompt.as_str())], seed);
            println!("[user] {prompt}\n\n[assistant]\n{}\n", first.text);
            if steered {
                let convo = [
                    (Role::User, prompt.as_str()),
                    (Role::Assistant, first.text.as_str()),
                    (Role::User, steer),
                ];
                let second = respond(model, system, &convo, seed);
                println!("[user] {steer}\n\n[assistant]\n{}\n", second.text);
            }
            println!(
                "(tokens in/out: {}/{}, {})\n",
                first.input_tokens, first.output_tokens, first.model_version
            );
        }
    }
}
