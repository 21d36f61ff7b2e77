//! How a run collects what its machine-readable report needs: every file's trace, or why
//! it could not be processed. (The text output uses only the error count.)

use std::collections::BTreeSet;
use std::path::PathBuf;

use dfrewrite::Settings;

use super::super::fsio::{self, Failure};
use super::super::render::Printer;
use super::super::write::WriteError;
use super::super::{Args, RunStatus, Runner};
use super::{Checked, ErrorRecord, FileRecord, OutputFormat, Report, RunMode};

impl Runner {
    /// Rewrites `text`, locating every fix too when a machine-readable report needs it;
    /// `text` comes back unchanged beside the outcome, or empty when `keep` is false and
    /// nothing reads it (the text format's check).
    pub(crate) fn rewrite(
        &self,
        text: String,
        settings: &Settings,
        keep: bool,
    ) -> Result<(String, dfrewrite::Outcome, Option<dfrewrite::Trace>), dfrewrite::Error> {
        if self.format == OutputFormat::Text && !keep {
            dfrewrite::rewrite_consuming(text, settings)
                .map(|outcome| (String::new(), outcome, None))
        } else if self.format == OutputFormat::Text {
            // given up for the rewrite: a large file's peak then holds one copy of it fewer
            dfrewrite::rewrite_owned(text, settings).map(|(outcome, text)| (text, outcome, None))
        } else {
            let trace = dfrewrite::rewrite_traced(&text, settings)?;
            Ok((text, trace.outcome.clone(), Some(trace)))
        }
    }

    pub(crate) fn record(
        &self,
        name: &str,
        source: String,
        trace: Option<dfrewrite::Trace>,
        written: bool,
        context: Option<PathBuf>,
        created: BTreeSet<String>,
    ) {
        if let Some(trace) = trace {
            self.records
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(FileRecord {
                    path: name.to_owned(),
                    result: Ok(Checked {
                        source,
                        trace,
                        written,
                        context,
                        created,
                    }),
                });
        }
    }

    pub(crate) fn record_failure(&self, name: &str, failure: &Failure) {
        match failure {
            Failure::Io(e) => self.record_error(name, None, fsio::describe_io(e)),
            Failure::NotRegular => self.record_error(name, None, "not a regular file".into()),
            Failure::Rewrite(dfrewrite::Error::Invalid {
                line,
                column,
                message,
            }) => self.record_error(name, Some((*line, *column)), message.clone()),
            Failure::Rewrite(dfrewrite::Error::Internal(message)) => self.record_error(
                name,
                None,
                format!("internal error: {message} (please report)"),
            ),
        }
    }

    pub(crate) fn record_write_error(&self, name: &str, error: WriteError) {
        match error {
            WriteError::Changed => self.record_error(
                name,
                None,
                "changed while rewriting; nothing written".into(),
            ),
            WriteError::ReadOnly => self.record_error(name, None, "read-only file".into()),
            WriteError::Failure(failure) => self.record_failure(name, &failure),
        }
    }

    pub(crate) fn record_error(&self, name: &str, position: Option<(u32, u32)>, message: String) {
        self.stats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .errors += 1;
        if self.format != OutputFormat::Text {
            self.records
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(FileRecord {
                    path: name.to_owned(),
                    result: Err(ErrorRecord { position, message }),
                });
        }
    }

    /// Prints the machine-readable report of the run, if one was asked for.
    pub(crate) fn report(&self, mode: RunMode, args: &Args, p: &mut Printer) -> RunStatus {
        if self.format == OutputFormat::Text {
            return RunStatus::Clean;
        }
        let records = self
            .records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let report = Report {
            mode,
            unsafe_fixes: args.passes.unsafe_fixes,
            files: &records,
        };
        if self.format == OutputFormat::Github
            && let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY")
        {
            let markdown = super::github::step_summary(&report);
            if let Err(e) = super::super::verify::append(std::path::Path::new(&summary), &markdown)
            {
                p.error_line(Some("$GITHUB_STEP_SUMMARY"), &fsio::describe_io(&e));
                return RunStatus::Error;
            }
        }
        p.stdout_or_error(&report.render(self.format))
    }
}
