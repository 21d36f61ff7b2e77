//! The single ordered list of passes. No other code knows about pass order.

use super::PassInfo;

pub(super) static PASSES: &[&PassInfo] = &[
    &super::add_to_copy::ADD_TO_COPY,
    &super::manifests_first::MANIFESTS_FIRST,
    // structure first: merges decide which RUN a cleanup or flag lands in
    &super::apt_update_with_install::APT_UPDATE_WITH_INSTALL,
    &super::merge_run_chains::MERGE_RUN_CHAINS,
    &super::same_layer_cleanup::SAME_LAYER_CLEANUP,
    &super::no_install_recommends::NO_INSTALL_RECOMMENDS,
    &super::no_cache_flags::NO_CACHE_FLAGS,
    &super::cache_cleanup::CACHE_CLEANUP,
    &super::cache_mounts::CACHE_MOUNTS,
    // a RUN's own flags before the split copies its output
    &super::strip_binaries::STRIP_BINARIES,
    // structure last: splits the final stage after the others tidied its RUNs
    &super::split_stages::SPLIT_STAGES,
    // a stage the split does not take (one with no build step) onto the slim variant
    &super::slim_base::SLIM_BASE,
    // then who the image runs as, on the stages as split
    &super::non_root_user::NON_ROOT_USER,
    // metadata and advice: no RUN is touched
    &super::maintainer_to_label::MAINTAINER_TO_LABEL,
    &super::secrets_in_env::SECRETS_IN_ENV,
    &super::base_image_advice::BASE_IMAGE_ADVICE,
    // proposes a new file, not edits: runs once on the final text
    &super::dockerignore::DOCKERIGNORE,
];
