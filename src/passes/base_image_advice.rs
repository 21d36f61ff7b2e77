use super::{FixAvailability, PassContext};
use crate::semantic::images;
use crate::semantic::{Base, Effect};
use crate::text::{Applicability, Edit, Fix};

super::declare_pass! {
    /// ## What it does
    /// For the image the final stage is built on, names the smaller variants that exist for
    /// its tag (`python:3.12` → `python:3.12-slim`, `python:3.12-alpine`; `debian:bookworm`
    /// → `debian:bookworm-slim`; tag families from `transforms/images.toml`), each with what
    /// it saves and what it risks. Advice only, never a fix.
    ///
    /// ## Why
    /// The base is most of an image's size, and the smaller variants are one word away; but
    /// each drops something an app may need, which only its owner can check. `slim-base`
    /// makes the slim move itself where the file shows the stage needs nothing it drops;
    /// this pass covers the rest and says why it did not.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM python:3.12
    /// RUN pip install --no-cache-dir flask
    /// CMD ["flask", "run"]
    /// ```
    /// becomes
    /// ```dockerfile
    /// FROM python:3.12
    /// RUN pip install --no-cache-dir flask
    /// CMD ["flask", "run"]
    /// ```
    ///
    /// ## Fix safety
    /// **Display only**: each variant may break the app. Slim drops compilers, `-dev`
    /// headers, `git`, `curl` and many shared libraries, so a package that builds native
    /// code at install, or a tool the app calls, fails. Alpine uses musl instead of glibc:
    /// prebuilt wheels and native Node modules built for glibc do not load (pip and npm
    /// compile them from source, which needs a compiler), DNS and locale behaviour differ,
    /// and `apt-get` lines must become `apk add` with other package names. Only the final
    /// stage's base is advised (a build stage's size does not ship); a base pinned by
    /// digest, named through a variable, or already Alpine gets nothing.
    pub(crate) static BASE_IMAGE_ADVICE = {
        name: "base-image-advice",
        summary: "Names the smaller variants of the final stage's base image, with what each saves and risks",
        fix: FixAvailability::Never,
        may: [],
        run: run,
        tier: DisplayOnly,
    };
}

fn run(ctx: &PassContext<'_>) -> Vec<Fix> {
    let model = ctx.model();
    let Some(last) = model.last() else {
        return Vec::new();
    };
    // the stage whose FROM names the image the final stage is built on
    let mut root = last;
    while let Base::Stage(i) = root.base {
        match model.stage(i) {
            Some(s) if i < root.index => root = s,
            _ => return Vec::new(),
        }
    }
    let Base::Image(image) = &root.base else {
        return Vec::new();
    };
    let Some(word) = root.from.word_texts(&ctx.file.source).next() else {
        return Vec::new();
    };
    if image.digest.is_some() || word != image.reference {
        return Vec::new();
    }
    let Some(facts) = images::facts(&image.repository) else {
        return Vec::new();
    };
    let tag = image.tag_or_latest();
    let Some(parsed) = facts.read_tag(tag) else {
        return Vec::new();
    };
    if parsed.other_os {
        return Vec::new();
    }
    let repo = word.rsplit_once(':').map_or(word, |(r, _)| r);
    // the stages from the root on, each built for the question only
    let uses_apt = (root.index..model.len()).any(|i| {
        model
            .with_stage(i, |s| {
                s.steps.iter().any(|step| match &step.effect {
                    Effect::Run(r) => r.installs.iter().any(|i| i.manager.starts_with("apt")),
                    _ => false,
                })
            })
            .unwrap_or(false)
    });
    // slim-base already proposes the slim move for this FROM: not said twice
    let slim_proposed = (super::slim_base::SLIM_BASE.run)(ctx)
        .iter()
        .any(|f| root.from.range.contains_range(f.range()));
    let mut options = Vec::new();
    if !parsed.slim
        && !slim_proposed
        && let Some(slim) = facts.slim_tag(tag)
    {
        options.push(if facts.language == "c" {
            format!("{repo}:{slim} leaves out documentation, man pages and locales")
        } else {
            format!(
                "{repo}:{slim} leaves out compilers, headers, git, curl and many shared libraries (a package that builds native code at install, or a tool the app calls, then fails)"
            )
        });
    }
    if let Some(alpine) = facts.alpine_tag(tag) {
        let musl = match facts.language.as_str() {
            "python" => {
                "glibc (manylinux) wheels do not install, so a package without a musllinux wheel compiles from source"
            }
            "node" => "native modules built for glibc do not load, so they compile from source",
            "go" => {
                "a cgo binary links musl; a static binary on a distroless or scratch stage is smaller still (split-stages)"
            }
            _ => "programs built for glibc do not run",
        };
        options.push(format!(
            "{repo}:{alpine} uses musl, not glibc: {musl}; DNS and locale behaviour differ{}",
            if uses_apt {
                "; the apt-get lines become apk add with Alpine's package names"
            } else {
                ""
            }
        ));
    }
    if options.is_empty() {
        return Vec::new();
    }
    ctx.fix(
        BASE_IMAGE_ADVICE.name,
        Applicability::DisplayOnly,
        format!(
            "smaller variants of {} exist: {}",
            word,
            options.join("; or ")
        ),
        vec![Edit::insert(root.from.keyword().start, "")],
    )
    .into_iter()
    .collect()
}
