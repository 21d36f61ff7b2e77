//! Reading what the engines print: `podman image inspect` and `podman history` JSON, and
//! buildah's build log. Pure functions over text, tested on outputs recorded from real runs
//! (tests/data/verify/).

use serde::Deserialize;

use super::model::{Layer, RuntimeConfig, StepCounts};

/// The parts of `podman image inspect IMAGE` that verify uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Inspect {
    pub(crate) bytes: u64,
    /// Number of filesystem layers (`RootFS.Layers`).
    pub(crate) layer_count: usize,
    /// The image's history, oldest first: one entry per Dockerfile step, with
    /// `empty_layer` set for steps that only change metadata.
    pub(crate) history: Vec<HistoryStep>,
    pub(crate) config: RuntimeConfig,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct HistoryStep {
    #[serde(default)]
    pub(crate) created_by: String,
    #[serde(default)]
    pub(crate) empty_layer: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawInspect {
    size: u64,
    #[serde(default)]
    config: Option<RuntimeConfig>,
    #[serde(rename = "RootFS", default)]
    root_fs: Option<RawRootFs>,
    #[serde(default)]
    history: Vec<HistoryStep>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawRootFs {
    #[serde(default)]
    layers: Vec<String>,
}

/// Parses `podman image inspect IMAGE` (a one-element JSON array).
pub(crate) fn inspect(json: &str) -> Result<Inspect, String> {
    let mut images: Vec<RawInspect> =
        serde_json::from_str(json).map_err(|e| format!("image inspect output: {e}"))?;
    if images.len() != 1 {
        return Err(format!(
            "image inspect output: expected one image, got {}",
            images.len()
        ));
    }
    let raw = images.remove(0);
    Ok(Inspect {
        bytes: raw.size,
        layer_count: raw.root_fs.map_or(0, |r| r.layers.len()),
        history: raw.history,
        config: raw.config.unwrap_or_default().normalized(),
    })
}

/// One row of `podman history --format json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct HistoryRow {
    pub(crate) size: u64,
    #[serde(rename = "CreatedBy", default)]
    pub(crate) created_by: String,
}

/// Parses `podman history --format json IMAGE`, newest first as podman prints it.
pub(crate) fn history(json: &str) -> Result<Vec<HistoryRow>, String> {
    serde_json::from_str(json).map_err(|e| format!("history output: {e}"))
}

/// Pairs podman's per-step sizes with the image's own history to list the real layers,
/// oldest first. podman prints one row per history entry (metadata steps included, with size
/// 0), so the two lists line up; when they do not (an image committed without history), the
/// rows that carry bytes stand in.
pub(crate) fn layers(inspect: &Inspect, rows: &[HistoryRow]) -> Vec<Layer> {
    let oldest_first = rows.iter().rev();
    if rows.len() == inspect.history.len() {
        oldest_first
            .zip(&inspect.history)
            .filter(|(_, step)| !step.empty_layer)
            .map(|(row, step)| Layer {
                size: row.size,
                created_by: step.created_by.clone(),
            })
            .collect()
    } else {
        oldest_first
            .filter(|row| row.size > 0)
            .map(|row| Layer {
                size: row.size,
                created_by: row.created_by.clone(),
            })
            .collect()
    }
}

/// Counts steps in a buildah/podman build log: step lines (see [`step_instruction`]) other than
/// `FROM`, and `--> Using cache …` lines for the steps the layer cache served. Unlike seconds,
/// these counts do not vary between runs.
pub(crate) fn step_counts(log: &str) -> StepCounts {
    let mut counts = StepCounts::default();
    for line in log.lines() {
        if let Some(instruction) = step_instruction(line) {
            let keyword = instruction.split_whitespace().next().unwrap_or("");
            if !keyword.eq_ignore_ascii_case("FROM") {
                counts.steps += 1;
            }
        } else if line.starts_with("--> Using cache ") {
            counts.cached += 1;
        }
    }
    counts
}

/// The instruction text of a `STEP n/m: INSTRUCTION` line, as buildah prints before each step.
/// In a multi-stage build each line starts with the stage's position: `[1/2] STEP 3/7: RUN make`.
pub(crate) fn step_instruction(line: &str) -> Option<&str> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let position = |s: &str| {
        s.split_once('/')
            .is_some_and(|(n, m)| digits(n) && digits(m))
    };
    let line = match line
        .strip_prefix('[')
        .and_then(|rest| rest.split_once("] "))
    {
        Some((stage, rest)) if position(stage) => rest,
        _ => line,
    };
    let rest = line.strip_prefix("STEP ")?;
    let (numbers, instruction) = rest.split_once(": ")?;
    position(numbers).then_some(instruction)
}

#[cfg(test)]
mod tests {
    use super::super::recorded as data;
    use super::*;

    #[test]
    fn inspect_reads_size_layers_history_and_config() {
        let orig = inspect(&data("inspect-orig.json")).unwrap();
        assert_eq!(orig.bytes, 3_983_955);
        assert_eq!(orig.layer_count, 4);
        assert_eq!(orig.history.len(), 6);
        assert_eq!(orig.history.iter().filter(|s| s.empty_layer).count(), 2);
        assert_eq!(orig.config.user, "1000");
        assert_eq!(
            orig.config.cmd.as_deref(),
            Some(&["/bin/sh".to_owned(), "-c".into(), "cat /hello.txt".into()][..])
        );
        assert_eq!(orig.config.entrypoint, None);
        assert_eq!(orig.config.labels["io.buildah.version"], "1.28.2");
        assert!(orig.config.env[0].starts_with("PATH="));
    }

    #[test]
    fn inspect_reads_ports_as_a_set_from_the_engines_map() {
        // corpus/example on the python:3.11 stand-in: EXPOSE 8000, WORKDIR /app.
        let example = inspect(&data("inspect-example.json")).unwrap();
        assert_eq!(example.bytes, 764_211_221);
        assert_eq!(example.layer_count, 9);
        assert_eq!(
            example.config.exposed_ports.iter().collect::<Vec<_>>(),
            ["8000/tcp"]
        );
        assert!(example.config.volumes.is_empty());
        assert_eq!(example.config.working_dir, "/app");
        assert_eq!(example.config.env[1], "LANG=C.UTF-8");
    }

    #[test]
    fn an_empty_cmd_or_entrypoint_is_no_cmd_or_entrypoint() {
        let json = r#"[{"Size": 1, "Config": {"Entrypoint": [], "Cmd": [],
            "Volumes": {"/data": {}}}}]"#;
        let parsed = inspect(json).unwrap();
        assert_eq!((parsed.config.cmd, parsed.config.entrypoint), (None, None));
        assert_eq!(parsed.config.volumes.iter().collect::<Vec<_>>(), ["/data"]);
        assert_eq!(parsed.layer_count, 0);
    }

    #[test]
    fn layers_pair_sizes_with_history_and_drop_metadata_steps() {
        let orig = inspect(&data("inspect-orig.json")).unwrap();
        let rows = history(&data("history-orig.json")).unwrap();
        assert_eq!(rows.len(), 6);
        let layers = layers(&orig, &rows);
        assert_eq!(layers.len(), orig.layer_count);
        assert_eq!(layers[0].size, 3_967_488);
        assert!(layers[0].created_by.contains("COPY dir:"));
        assert!(layers[3].created_by.ends_with("ls -la /"));
        // The bytes of the image are the layers plus a little metadata.
        let sum: u64 = layers.iter().map(|l| l.size).sum();
        assert!(sum <= orig.bytes && orig.bytes - sum < 64 * 1024);

        let rewr = inspect(&data("inspect-rewr.json")).unwrap();
        let rows = history(&data("history-rewr.json")).unwrap();
        assert_eq!(layers_of(&rewr, &rows), 3);
    }

    fn layers_of(inspect: &Inspect, rows: &[HistoryRow]) -> usize {
        let found = layers(inspect, rows);
        assert_eq!(found.len(), inspect.layer_count);
        found.len()
    }

    #[test]
    fn layers_fall_back_to_sized_rows_when_history_is_missing() {
        let mut orig = inspect(&data("inspect-orig.json")).unwrap();
        orig.history.clear();
        let rows = history(&data("history-orig.json")).unwrap();
        let found = layers(&orig, &rows);
        assert_eq!(found.len(), 4);
        assert!(found[1].created_by.contains("ADD file:"));
    }

    #[test]
    fn step_counts_from_recorded_builds() {
        // The rewrite shares its first step with the original, built just before.
        let rewrite = step_counts(&data("build-rewrite.log"));
        assert_eq!((rewrite.steps, rewrite.cached, rewrite.rerun()), (5, 1, 4));
        // hello.txt was touched: COPY bin/ is served from cache, the ADD and all later steps
        // run again.
        let warm = step_counts(&data("build-original-warm.log"));
        assert_eq!((warm.steps, warm.cached, warm.rerun()), (6, 1, 5));
    }

    #[test]
    fn step_counts_of_multi_stage_builds_count_every_stage() {
        // tests/data/verify/multistage.Dockerfile: 3 steps in `build`, 4 in the final stage
        // (FROM lines are not steps). After the edit of hello.txt only the two `COPY bin/`
        // steps come from the cache.
        let warm = step_counts(&data("build-multistage-warm.log"));
        assert_eq!((warm.steps, warm.cached, warm.rerun()), (7, 2, 5));
        // Built again unchanged: every step is served, the final CMD too.
        let cached = step_counts(&data("build-multistage-cached.log"));
        assert_eq!((cached.steps, cached.cached, cached.rerun()), (7, 7, 0));
    }

    #[test]
    fn step_lines_need_the_exact_shape() {
        assert_eq!(step_instruction("STEP 2/7: COPY a b"), Some("COPY a b"));
        assert_eq!(step_instruction("STEP x/7: COPY a b"), None);
        assert_eq!(step_instruction("STEPS 2/7: COPY"), None);
        assert_eq!(step_instruction("  STEP 2/7: COPY"), None);
        // Multi-stage builds put the stage's position first.
        assert_eq!(
            step_instruction("[1/2] STEP 3/4: RUN cp /src/hello.txt /out.txt"),
            Some("RUN cp /src/hello.txt /out.txt")
        );
        assert_eq!(
            step_instruction("[2/2] STEP 1/5: FROM scratch"),
            Some("FROM scratch")
        );
        assert_eq!(step_instruction("[2/2] COMMIT localhost/x"), None);
        assert_eq!(step_instruction("[build] STEP 3/4: RUN make"), None);
        assert_eq!(step_instruction("[1/2]STEP 3/4: RUN make"), None);
    }

    #[test]
    fn malformed_output_is_an_error() {
        assert!(inspect("[]").is_err());
        assert!(inspect("{").is_err());
        assert!(history("nope").is_err());
    }
}
