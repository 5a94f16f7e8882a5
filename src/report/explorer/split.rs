//! A large explorer as several pages in one folder: report/explorer/index.html and its parts.
//!
//! One page holding every transcript grows with the study (a browser parses its whole index at
//! load), so above a size (`report --explorer-part-size`) the explorer is written as parts of at
//! most that many transcripts, each a whole explorer page with its own data and the same CSP.
//! Parts are cut between prompts, never inside one, so the side-by-side view (one prompt across
//! scaffolds or models) always finds its columns in the part it is opened from. The index lists
//! the parts with their counts per condition; given the explorer's filter fragment it counts the
//! matches in each part and links each part with the same fragment.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::{EXPLORER_FILE, Explorer, PartNav, page};
use crate::blind::packet::json_for_script;
use crate::report::format::{html, one_line};

const INDEX_JS: &str = include_str!("index.js");

/// The folder of a split explorer in the report folder.
pub const EXPLORER_DIR: &str = "explorer";

/// Where report.html links when the explorer is split.
pub const INDEX_FILE: &str = "explorer/index.html";

/// The default largest part: the size up to which one page stays quick to open
/// (docs/performance.md).
pub const DEFAULT_PART_SIZE: usize = 10_000;

/// One part of a split explorer: its prompts and its transcripts (indices into the explorer's).
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub prompts: Vec<String>,
    pub transcripts: Vec<usize>,
}

/// The explorer cut into parts of at most `part_size` transcripts between prompts, in the
/// study's prompt order; a prompt with more transcripts than that is a part of its own.
pub fn split(explorer: &Explorer, part_size: usize) -> Vec<Part> {
    let mut groups: Vec<(&str, Vec<usize>)> = explorer
        .prompts
        .iter()
        .map(|p| (p.as_str(), Vec::new()))
        .collect();
    let mut at: BTreeMap<&str, usize> = groups
        .iter()
        .enumerate()
        .map(|(i, (p, _))| (*p, i))
        .collect();
    for (t, tr) in explorer.transcripts.iter().enumerate() {
        let g = *at.entry(tr.prompt.as_str()).or_insert_with(|| {
            groups.push((tr.prompt.as_str(), Vec::new()));
            groups.len() - 1
        });
        groups[g].1.push(t);
    }
    let mut parts: Vec<Part> = Vec::new();
    let mut current = Part {
        prompts: Vec::new(),
        transcripts: Vec::new(),
    };
    for (prompt, transcripts) in groups.into_iter().filter(|(_, t)| !t.is_empty()) {
        if !current.transcripts.is_empty()
            && current.transcripts.len() + transcripts.len() > part_size
        {
            parts.push(std::mem::replace(
                &mut current,
                Part {
                    prompts: Vec::new(),
                    transcripts: Vec::new(),
                },
            ));
        }
        current.prompts.push(prompt.to_string());
        current.transcripts.extend(transcripts);
    }
    if !current.transcripts.is_empty() {
        parts.push(current);
    }
    parts
}

/// The explorer's files in the report folder: explorer.html alone up to `part_size`
/// transcripts, otherwise explorer/index.html and explorer/part-NNN.html.
pub fn explorer_files(explorer: &Explorer, part_size: usize) -> Vec<(String, Vec<u8>)> {
    if !is_split(explorer, part_size) {
        return vec![(EXPLORER_FILE.to_string(), super::explorer_html(explorer))];
    }
    let parts = split(explorer, part_size);
    let mut files = vec![(
        INDEX_FILE.to_string(),
        index_html(explorer, &parts, part_size),
    )];
    for (i, part) in parts.iter().enumerate() {
        let sub = Explorer {
            study: explorer.study.clone(),
            models: explorer.models.clone(),
            scaffolds: explorer.scaffolds.clone(),
            prompts: part.prompts.clone(),
            dimensions: explorer.dimensions.clone(),
            transcripts: part
                .transcripts
                .iter()
                .map(|&t| explorer.transcripts[t].clone())
                .collect(),
        };
        let nav = PartNav {
            number: i + 1,
            of: parts.len(),
            prompts: &prompts_label(&part.prompts),
        };
        files.push((
            format!("{EXPLORER_DIR}/{}", part_file(i)),
            page(&sub, Some(&nav)),
        ));
    }
    files
}

/// Whether the explorer is written as parts.
pub fn is_split(explorer: &Explorer, part_size: usize) -> bool {
    explorer.transcripts.len() > part_size
}

fn part_file(i: usize) -> String {
    format!("part-{:03}.html", i + 1)
}

/// "p1, p2" for a few prompts, "p1 … p40 (40)" for more.
fn prompts_label(prompts: &[String]) -> String {
    match prompts {
        [] => String::new(),
        [_] | [_, _] | [_, _, _] => prompts.join(", "),
        [first, .., last] => format!("{first} … {last} ({})", prompts.len()),
    }
}

/// Retargets report.html's and its figures' links from explorer.html to the split explorer's
/// index. The links are made deep in the report's renderers, which do not know how many
/// transcripts the explorer will hold; the report command decides once it has gathered them.
pub fn link_to_index(name: &str, bytes: Vec<u8>) -> Vec<u8> {
    let (from, to) = if name == "report.html" {
        (
            format!("href=\"{EXPLORER_FILE}"),
            format!("href=\"{INDEX_FILE}"),
        )
    } else if name.starts_with("figures/") && name.ends_with(".svg") {
        (
            format!("href=\"../{EXPLORER_FILE}"),
            format!("href=\"../{INDEX_FILE}"),
        )
    } else {
        return bytes;
    };
    match String::from_utf8(bytes) {
        Ok(text) => text.replace(&from, &to).into_bytes(),
        Err(e) => e.into_bytes(),
    }
}

/// The index's data for its script: names, and per part its file and its transcripts counted
/// by condition as [model, scaffold, prompt, count] (indices into the lists).
#[derive(Serialize)]
struct IndexData<'a> {
    models: Vec<&'a str>,
    scaffolds: Vec<&'a str>,
    prompts: Vec<&'a str>,
    dims: Vec<&'a str>,
    parts: Vec<PartData>,
}

#[derive(Serialize)]
struct PartData {
    file: String,
    c: Vec<(usize, usize, usize, usize)>,
}

/// The index page's Content-Security-Policy: the explorer's, with the index's own script.
pub fn index_content_security_policy() -> String {
    super::policy_for(INDEX_JS)
}

fn index_html(explorer: &Explorer, parts: &[Part], part_size: usize) -> Vec<u8> {
    let mut models = super::Names::new(&explorer.models);
    let mut scaffolds = super::Names::new(&explorer.scaffolds);
    let mut prompts = super::Names::new(&explorer.prompts);
    let mut counts: Vec<BTreeMap<(usize, usize, usize), usize>> = Vec::new();
    for part in parts {
        let mut c = BTreeMap::new();
        for &t in &part.transcripts {
            let tr = &explorer.transcripts[t];
            let key = (
                models.of(&tr.model),
                scaffolds.of(&tr.scaffold),
                prompts.of(&tr.prompt),
            );
            *c.entry(key).or_insert(0) += 1;
        }
        counts.push(c);
    }
    let title = html(&one_line(&explorer.study));
    let mut rows = String::new();
    for (i, (part, c)) in parts.iter().zip(&counts).enumerate() {
        // Per condition: models down, scaffolds across.
        let mut by_condition: BTreeMap<(usize, usize), usize> = BTreeMap::new();
        for (&(m, s, _), n) in c {
            *by_condition.entry((m, s)).or_insert(0) += n;
        }
        let mut matrix = String::from("<table><thead><tr><th scope=\"col\">Model</th>");
        for s in &scaffolds.list {
            let _ = write!(matrix, "<th scope=\"col\" class=\"num\">{}</th>", html(s));
        }
        matrix.push_str("</tr></thead><tbody>");
        for (m, model) in models.list.iter().enumerate() {
            let _ = write!(matrix, "<tr><th scope=\"row\">{}</th>", html(model));
            for s in 0..scaffolds.list.len() {
                let n = by_condition.get(&(m, s)).copied().unwrap_or(0);
                let _ = write!(matrix, "<td class=\"num\">{n}</td>");
            }
            matrix.push_str("</tr>");
        }
        matrix.push_str("</tbody></table>");
        let _ = writeln!(
            rows,
            "<tr id=\"part-{n}\"><td><a href=\"{file}\">Part {n}</a></td><td>{prompts}</td>\
             <td class=\"num\">{count}</td><td class=\"num matches\"></td>\
             <td><details><summary>By condition</summary>{matrix}</details></td></tr>",
            n = i + 1,
            file = part_file(i),
            prompts = html(&prompts_label(&part.prompts)),
            count = part.transcripts.len(),
        );
    }
    let data = IndexData {
        models: models.list,
        scaffolds: scaffolds.list,
        prompts: prompts.list,
        dims: explorer.dimensions.iter().map(|d| d.id.as_str()).collect(),
        parts: counts
            .iter()
            .enumerate()
            .map(|(i, c)| PartData {
                file: part_file(i),
                c: c.iter().map(|(&(m, s, p), &n)| (m, s, p, n)).collect(),
            })
            .collect(),
    };
    let data = json_for_script(&data);
    let mut out = String::with_capacity(rows.len() + data.len() + 8192);
    super::open_page(
        &mut out,
        &index_content_security_policy(),
        &title,
        ": parts",
        true,
    );
    out.push_str("</header>\n");
    let _ = writeln!(
        out,
        "<main class=\"index\"><h1>Transcript explorer in {} parts</h1>\
         <p>{} transcripts, in parts of up to {part_size} cut between prompts: every transcript \
         of a prompt, and so its side-by-side view, is in one part (a prompt with more is a part \
         of its own).</p>\
         <p id=\"filter\" role=\"status\">No filter: each part opens with all its transcripts.</p>\
         <table id=\"parts\"><thead><tr><th scope=\"col\">Part</th><th scope=\"col\">Prompts</th>\
         <th scope=\"col\" class=\"num\">Transcripts</th><th scope=\"col\" class=\"num\">Matching</th>\
         <th scope=\"col\">Transcripts by condition</th></tr></thead><tbody>\n{rows}</tbody></table></main>",
        parts.len(),
        explorer.transcripts.len(),
    );
    let _ = writeln!(
        out,
        "<script type=\"application/json\" id=\"explorer-parts\">{data}</script>"
    );
    let _ = writeln!(out, "<script>{INDEX_JS}</script>\n</body>\n</html>");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::report::explorer::{Dimension, Transcript};

    /// `counts[p]` transcripts of prompt p (across conditions), interleaved as a run logs them.
    fn explorer(counts: &[usize]) -> Explorer {
        let mut transcripts = Vec::new();
        let most = counts.iter().copied().max().unwrap_or(0);
        for k in 0..most {
            for (p, &n) in counts.iter().enumerate() {
                if k < n {
                    transcripts.push(Transcript {
                        cell_id: format!("c{p}-{k}"),
                        model: format!("m{}", k % 3),
                        scaffold: format!("s{}", k % 2),
                        prompt: format!("p{p}"),
                        repeat: (k / 6) as u32,
                        messages: Vec::new(),
                        ratings: Vec::new(),
                    });
                }
            }
        }
        Explorer {
            study: "s".into(),
            models: vec!["m0".into(), "m1".into(), "m2".into()],
            scaffolds: vec!["s0".into(), "s1".into()],
            // One prompt of the study has no transcripts; the split skips it.
            prompts: (0..=counts.len()).map(|p| format!("p{p}")).collect(),
            dimensions: vec![Dimension {
                id: "v".into(),
                min: 0,
                max: 2,
            }],
            transcripts,
        }
    }

    /// Every transcript in exactly one part, every prompt's transcripts in one part, no part
    /// over the size unless it is one prompt, and parts as full as the cut allows.
    fn check(counts: &[usize], size: usize) -> Vec<Part> {
        let e = explorer(counts);
        let parts = split(&e, size);
        let mut seen = vec![0; e.transcripts.len()];
        let mut prompt_part: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, part) in parts.iter().enumerate() {
            assert!(!part.transcripts.is_empty());
            assert!(part.transcripts.len() <= size || part.prompts.len() == 1);
            let prompts: BTreeSet<&str> = part.prompts.iter().map(String::as_str).collect();
            for &t in &part.transcripts {
                seen[t] += 1;
                let p = e.transcripts[t].prompt.as_str();
                assert!(prompts.contains(p), "{p} in part {i} but not its list");
                assert_eq!(*prompt_part.entry(p).or_insert(i), i, "{p} split");
            }
            if let Some(next) = parts.get(i + 1) {
                let first = counts[next.prompts[0][1..].parse::<usize>().unwrap()];
                assert!(
                    part.transcripts.len() + first > size,
                    "part {i} could take more"
                );
            }
        }
        assert!(seen.iter().all(|&n| n == 1), "{seen:?}");
        parts
    }

    #[test]
    fn every_transcript_is_in_one_part_and_prompts_are_never_split() {
        let parts = check(&[12; 15], 50);
        let sizes: Vec<usize> = parts.iter().map(|p| p.transcripts.len()).collect();
        assert_eq!(sizes, [48, 48, 48, 36]);
        assert_eq!(parts[0].prompts, ["p0", "p1", "p2", "p3"]);
        check(&[1, 7, 30, 2, 2, 9, 13, 1], 10);
        check(&[5, 5, 5], 5);
        check(&[5, 5, 5], 1);
        check(&[3, 40, 3], 12);
        assert_eq!(check(&[4; 5], 1_000).len(), 1);
        assert!(check(&[], 3).is_empty());
    }

    #[test]
    fn small_explorers_stay_one_page_and_large_ones_become_an_index_and_parts() {
        let e = explorer(&[12; 15]);
        let names = |size| {
            explorer_files(&e, size)
                .into_iter()
                .map(|(n, _)| n)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(180), ["explorer.html"]);
        assert_eq!(
            names(179),
            [
                "explorer/index.html",
                "explorer/part-001.html",
                "explorer/part-002.html"
            ]
        );
        let files = explorer_files(&e, 50);
        let index = String::from_utf8(files[0].1.clone()).unwrap();
        assert!(index.contains(&format!("content=\"{}\"", index_content_security_policy())));
        assert_eq!(
            index.matches("<script").count(),
            2,
            "the data and the script"
        );
        for n in 1..=4 {
            assert!(index.contains(&format!("<a href=\"part-00{n}.html\">Part {n}</a>")));
        }
        // The parts' data: per part, [model, scaffold, prompt, count] summing to its size.
        let start = index.find("id=\"explorer-parts\">").unwrap() + 20;
        let end = start + index[start..].find("</script>").unwrap();
        let data: serde_json::Value = serde_json::from_str(&index[start..end]).unwrap();
        let total = |i: usize| -> u64 {
            data["parts"][i]["c"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c[3].as_u64().unwrap())
                .sum()
        };
        assert_eq!((0..4).map(total).collect::<Vec<_>>(), [48, 48, 48, 36]);
        // Each part is a whole explorer page with its own data, one folder down.
        for (name, bytes) in &files[1..] {
            let page = String::from_utf8(bytes.clone()).unwrap();
            assert_eq!(page.matches("<script").count(), 3, "{name}");
            assert!(page.contains(&format!(
                "content=\"{}\"",
                crate::report::explorer::content_security_policy()
            )));
            assert!(page.contains("href=\"../report.html\""));
            assert!(page.contains("id=\"to-index\" href=\"index.html\""));
        }
        let last = String::from_utf8(files[4].1.clone()).unwrap();
        assert!(
            last.contains("Part 4 of 4: prompts p12, p13, p14."),
            "{last}"
        );
    }

    #[test]
    fn split_reports_link_to_the_index() {
        let html =
            b"<a href=\"explorer.html\">x</a><a class=\"explore\" href=\"explorer.html#m=a\">\
                     <svg><a href=\"explorer.html#m=b\"></a></svg>"
                .to_vec();
        let out = String::from_utf8(link_to_index("report.html", html)).unwrap();
        assert!(!out.contains("\"explorer.html"), "{out}");
        assert_eq!(out.matches("href=\"explorer/index.html").count(), 3);
        let svg = b"<a href=\"../explorer.html#m=a&amp;s=b\">".to_vec();
        assert_eq!(
            link_to_index("figures/effects-v.svg", svg),
            b"<a href=\"../explorer/index.html#m=a&amp;s=b\">"
        );
        assert_eq!(
            link_to_index("report.md", b"explorer.html".to_vec()),
            b"explorer.html"
        );
    }
}
