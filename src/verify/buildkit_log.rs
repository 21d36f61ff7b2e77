//! Reading BuildKit's `--progress=plain` output: which build steps ran and which the layer
//! cache served. Pure functions over text, tested on output recorded from real builds
//! (tests/data/verify/).
//!
//! Every vertex has a number (`#5`) and prints its title line (`#5 [2/4] RUN make`, with the
//! stage name first in multi-stage builds: `#5 [builder 2/4] RUN make`) when it starts, and again
//! whenever its output resumes after another vertex's; a step the cache served prints
//! `#5 CACHED`. BuildKit shows no vertex for metadata-only steps (`ENV`, `USER`, `CMD`, …), so
//! its counts are smaller than buildah's for the same Dockerfile.

use std::collections::BTreeSet;

use super::model::StepCounts;

/// The vertex number and instruction of a step's title line; `None` for other lines,
/// `[internal]` vertices and the exporter.
pub(crate) fn step_title(line: &str) -> Option<(u32, &str)> {
    let rest = line.strip_prefix('#')?;
    let (number, rest) = rest.split_once(' ')?;
    let id = number.parse().ok()?;
    let label_and_rest = rest.strip_prefix('[')?;
    let (label, instruction) = label_and_rest.split_once("] ")?;
    let position = label.rsplit(' ').next()?;
    let (n, m) = position.split_once('/')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(n) && digits(m) && !instruction.is_empty()).then_some((id, instruction))
}

/// Counts the steps of a build other than `FROM`, and those the layer cache served.
pub(crate) fn step_counts(log: &str) -> StepCounts {
    let mut steps = BTreeSet::new();
    let mut cached = BTreeSet::new();
    for line in log.lines() {
        if let Some((id, instruction)) = step_title(line) {
            let keyword = instruction.split_whitespace().next().unwrap_or("");
            if !keyword.eq_ignore_ascii_case("FROM") {
                steps.insert(id);
            }
        } else if let Some(id) = line
            .strip_prefix('#')
            .and_then(|rest| rest.strip_suffix(" CACHED"))
            .and_then(|n| n.parse::<u32>().ok())
        {
            cached.insert(id);
        }
    }
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    StepCounts {
        steps: count(steps.len()),
        cached: count(steps.intersection(&cached).count()),
    }
}

/// Remembers which vertices already announced themselves, so progress shows each step once.
#[derive(Debug, Default)]
pub(crate) struct FirstTitles {
    seen: BTreeSet<u32>,
}

impl FirstTitles {
    /// Whether `line` is a step's title line seen for the first time.
    pub(crate) fn is_new(&mut self, line: &str) -> bool {
        step_title(line).is_some_and(|(id, _)| self.seen.insert(id))
    }
}

#[cfg(test)]
mod tests {
    use super::super::recorded as data;
    use super::*;

    #[test]
    fn titles_need_a_vertex_number_and_a_step_position() {
        assert_eq!(
            step_title("#4 [1/3] COPY bin/ /bin/"),
            Some((4, "COPY bin/ /bin/"))
        );
        assert_eq!(
            step_title("#12 [builder 2/4] RUN make"),
            Some((12, "RUN make"))
        );
        assert_eq!(step_title("#1 [internal] load build definition"), None);
        assert_eq!(step_title("#7 exporting to image"), None);
        assert_eq!(step_title("#4 CACHED"), None);
        assert_eq!(step_title("STEP 2/7: COPY a b"), None);
    }

    #[test]
    fn counts_from_recorded_builds() {
        // corpus-style build on a base image: FROM is not a step; both RUNs re-ran after the
        // touched COPY, the first COPY came from the cache.
        let warm = step_counts(&data("buildkit-warm.log"));
        assert_eq!((warm.steps, warm.cached, warm.rerun()), (4, 1, 3));
        let cold = step_counts(&data("buildkit-cold.log"));
        assert_eq!((cold.steps, cold.cached), (4, 0));
    }

    #[test]
    fn counts_of_a_multi_stage_build_cover_every_stage() {
        // tests/data/verify/multistage.Dockerfile after an edit of hello.txt: titles carry the
        // stage name (`[build 2/3]`, `[stage-1 2/2]`). The final stage's `COPY bin/` is the
        // same vertex as the build stage's, so BuildKit shows it once; USER and CMD have none.
        let warm = step_counts(&data("buildkit-multistage-warm.log"));
        assert_eq!((warm.steps, warm.cached, warm.rerun()), (4, 1, 3));
    }

    #[test]
    fn a_repeated_title_is_one_step_and_shown_once() {
        let log = "#5 [2/3] RUN a\n#6 [3/3] RUN b\n#5 [2/3] RUN a\n#5 0.1 out\n#6 CACHED\n";
        assert_eq!(
            step_counts(log),
            StepCounts {
                steps: 2,
                cached: 1
            }
        );
        let mut first = FirstTitles::default();
        let shown: Vec<bool> = log.lines().map(|l| first.is_new(l)).collect();
        assert_eq!(shown, [true, true, false, false, false]);
    }
}
