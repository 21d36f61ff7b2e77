#!/usr/bin/env bash
# bench/images/setup.sh [--engine buildah|docker] [--force [STANDIN...]]
#
# Prepares buildah's default root storage for the real-image benchmark (no daemon, no registry):
#   1. installs buildah, podman and debootstrap if missing;
#   2. debootstraps bookworm (minbase) once with the official image's apt/dpkg settings and caches
#      the tree as a tar under ${DFREWRITE_IMAGES_CACHE:-/var/tmp/dfrewrite-images};
#   3. imports it as debian:bookworm (also :12 and :latest);
#   4. builds the local stand-ins for the official language images (bench/images/standins/*);
#   5. prints every image and its size.
# Idempotent: existing images are kept. --force re-imports the base from the cached tar and rebuilds
# every stand-in without the layer cache; --force STANDIN... (directory names under standins/)
# rebuilds only those. Delete the cached tar to debootstrap again. See bench/images/README.md.
# --engine docker: also puts the base and the stand-ins into the Docker daemon the `docker`
# client reaches (DOCKER_HOST honoured; the client must build with BuildKit): the base is
# `docker import`ed from the cached tar with the machine's extra CAs added (docker build has no
# -v), the stand-ins move over with `buildah push IMAGE docker-archive:…` + `docker load`.
# Images already in Docker are kept; --force replaces them.
set -euo pipefail

force=0; force_only=(); engine=buildah
next_is_engine=0
for arg in "$@"; do
  if [ $next_is_engine = 1 ]; then engine=$arg; next_is_engine=0; continue; fi
  case $arg in
    --engine) next_is_engine=1 ;;
    --engine=*) engine=${arg#--engine=} ;;
    --force) force=1 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "usage: $0 [--engine buildah|docker] [--force [STANDIN...]]" >&2; exit 2 ;;
    *) [ $force = 1 ] || { echo "usage: $0 [--engine buildah|docker] [--force [STANDIN...]]" >&2; exit 2; }
       [ -f "$(dirname "$0")/standins/$arg/Dockerfile" ] || { echo "no stand-in $arg" >&2; exit 2; }
       force_only+=("$arg") ;;
  esac
done
case $engine in buildah|docker) ;; *) echo "--engine must be buildah or docker" >&2; exit 2 ;; esac
# forced(DIR): is this stand-in to be rebuilt regardless of what exists?
forced() {
  [ $force = 1 ] || return 1
  [ ${#force_only[@]} -eq 0 ] && return 0
  local d; for d in "${force_only[@]}"; do [ "$d" = "$1" ] && return 0; done
  return 1
}

[ "$(id -u)" = 0 ] || { echo "setup.sh must run as root" >&2; exit 1; }

export BUILDAH_ISOLATION=chroot               # crun isolation fails on the hybrid cgroup setup
CACHE=${DFREWRITE_IMAGES_CACHE:-/var/tmp/dfrewrite-images}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STANDINS=$HERE/standins
ROOTFS_TAR=$CACHE/rootfs-bookworm.tar
mkdir -p "$CACHE/logs"

now() { date +%s%N; }
since() { local cs=$(( ($(now) - $1) / 10000000 )); printf '%d.%02d' $((cs / 100)) $((cs % 100)); }
t_all=$(now)

# 1. tools ---------------------------------------------------------------------------------------
missing=()
for p in buildah podman debootstrap; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  t=$(now)
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" > "$CACHE/logs/apt-install.log"
  echo "install ${missing[*]}: $(since "$t") s"
fi

image_exists() { buildah inspect --type image "$1" > /dev/null 2>&1; }

# 2. base rootfs (debootstrap once, cached as a tar) ---------------------------------------------
make_rootfs() {               # debootstrap + the official image's apt/dpkg settings (images.md §2.5)
  local r=$CACHE/rootfs
  local d=$r/etc/apt/apt.conf.d
  rm -rf "$r"
  debootstrap --variant=minbase bookworm "$r" > "$CACHE/logs/debootstrap.log" 2>&1
  cat > "$d/docker-clean" <<'CONF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CONF
  echo 'Acquire::Languages "none";' > "$d/docker-no-languages"
  printf 'Acquire::GzipIndexes "true";\nAcquire::CompressionTypes::Order:: "gz";\n' > "$d/docker-gzip-indexes"
  echo 'Apt::AutoRemove::SuggestsImportant "false";' > "$d/docker-autoremove-suggests"
  echo 'force-unsafe-io' > "$r/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
  printf '#!/bin/sh\nexit 101\n' > "$r/usr/sbin/policy-rc.d"
  chmod +x "$r/usr/sbin/policy-rc.d"
  : > "$r/etc/resolv.conf"
  echo localhost > "$r/etc/hostname"
  rm -rf "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/* \
         "$r"/var/log/*.log "$r"/var/log/apt/* "$r"/tmp/*
  tar --numeric-owner -C "$r" -cf "$ROOTFS_TAR.tmp" .
  mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
  rm -rf "$r"
}

if [ ! -f "$ROOTFS_TAR" ]; then
  t=$(now); make_rootfs; echo "debootstrap bookworm minbase: $(since "$t") s"
fi

# 3. import as debian:bookworm -----------------------------------------------------------------
import_base() {               # buildah 1.28 has no `import`: untar into a scratch container
  local c m
  c=$(buildah from scratch)
  m=$(buildah mount "$c")
  tar --numeric-owner -C "$m" -xf "$ROOTFS_TAR"
  buildah umount "$c" > /dev/null
  buildah config --cmd bash --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$c"
  buildah commit -q --rm "$c" localhost/debian:bookworm > /dev/null
  buildah tag localhost/debian:bookworm localhost/debian:12 localhost/debian:latest \
    docker.io/library/debian:bookworm docker.io/library/debian:12 docker.io/library/debian:latest
}
if { [ $force = 1 ] && [ ${#force_only[@]} -eq 0 ]; } || ! image_exists localhost/debian:bookworm; then
  t=$(now); import_base; echo "base import debian:bookworm: $(since "$t") s"
fi

# 4. stand-ins -------------------------------------------------------------------------------
ca=()                         # the machine's extra CAs; the stand-ins bake them into their bundle
[ -d /usr/local/share/ca-certificates ] &&
  ca=(-v /usr/local/share/ca-certificates:/usr/local/share/ca-certificates:ro)

# directory under standins/ -> image names (first one is checked for existence). Order matters:
# later stand-ins build FROM earlier ones.
standins=(
  "debian-bookworm-slim  docker.io/library/debian:bookworm-slim localhost/debian:bookworm-slim docker.io/library/debian:12-slim"
  "python-3.11           docker.io/library/python:3.11 localhost/python:3.11"
  "python-3.11-slim      docker.io/library/python:3.11-slim localhost/python:3.11-slim"
  "node-18               docker.io/library/node:18 localhost/node:18"
  "node-18-slim          docker.io/library/node:18-slim localhost/node:18-slim"
  "golang-1.19           docker.io/library/golang:1.19 localhost/golang:1.19"
  "distroless-static-debian12 gcr.io/distroless/static-debian12 gcr.io/distroless/static-debian12:latest"
  "distroless-base-debian12   gcr.io/distroless/base-debian12 gcr.io/distroless/base-debian12:latest"
)

for line in "${standins[@]}"; do
  read -r dir first rest <<< "$line"
  nocache=()
  if forced "$dir"; then nocache=(--no-cache)
  elif image_exists "$first"; then continue; fi
  tags=(-t "$first"); for n in $rest; do tags+=(-t "$n"); done
  t=$(now)
  # the context is standins/ so that stand-ins can share files under standins/common/
  if ! buildah build --isolation chroot --layers --format docker --pull=never "${nocache[@]}" "${ca[@]}" \
        "${tags[@]}" -f "$STANDINS/$dir/Dockerfile" "$STANDINS" > "$CACHE/logs/standin-$dir.log" 2>&1; then
    echo "stand-in $dir FAILED, see $CACHE/logs/standin-$dir.log" >&2
    tail -20 "$CACHE/logs/standin-$dir.log" >&2
    exit 1
  fi
  echo "stand-in $first: $(since "$t") s"
done

# 4b. the same images in Docker ----------------------------------------------------------------
docker_has() { docker image inspect "$1" > /dev/null 2>&1; }
if [ "$engine" = docker ]; then
  docker info > /dev/null 2>&1 || { echo "no Docker daemon answers (DOCKER_HOST=${DOCKER_HOST:-unset})" >&2; exit 1; }
  if [ $force = 1 ] && [ ${#force_only[@]} -eq 0 ] || ! docker_has debian:bookworm; then
    t=$(now)
    # one layer, like the buildah base; the machine's extra CAs are added so that an image
    # which installs ca-certificates trusts them, as buildah's -v mount gives (images.md §5)
    cp "$ROOTFS_TAR" "$CACHE/rootfs-docker.tar"
    if [ -d /usr/local/share/ca-certificates ]; then
      rm -rf "$CACHE/ca" && mkdir -p "$CACHE/ca/usr/local/share"
      cp -r /usr/local/share/ca-certificates "$CACHE/ca/usr/local/share/"
      tar --numeric-owner --owner=0 --group=0 -C "$CACHE/ca" -rf "$CACHE/rootfs-docker.tar" ./usr/local/share/ca-certificates
    fi
    docker import -c 'CMD ["bash"]' -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      "$CACHE/rootfs-docker.tar" localhost/debian:bookworm > /dev/null
    rm -f "$CACHE/rootfs-docker.tar"
    for n in debian:bookworm debian:12 debian:latest localhost/debian:12 localhost/debian:latest; do
      docker tag localhost/debian:bookworm "$n"
    done
    echo "docker import debian:bookworm: $(since "$t") s"
  fi
  for line in "${standins[@]}"; do
    read -r dir first rest <<< "$line"
    if ! forced "$dir" && docker_has "$first"; then continue; fi
    t=$(now)
    buildah push -q "$first" "docker-archive:$CACHE/standin.tar:$first" > "$CACHE/logs/push-$dir.log" 2>&1
    docker load -q -i "$CACHE/standin.tar" >> "$CACHE/logs/push-$dir.log" 2>&1
    rm -f "$CACHE/standin.tar"
    for n in $rest; do docker tag "$first" "$n"; done
    echo "docker load $first: $(since "$t") s"
  done
fi

# 5. summary ---------------------------------------------------------------------------------
echo
printf '%-45s %12s %8s\n' IMAGE BYTES LAYERS
for line in "debian-bookworm docker.io/library/debian:bookworm" "${standins[@]}"; do
  read -r _ first _ <<< "$line"
  if [ "$engine" = docker ]; then
    size=$(docker image inspect --format '{{.Size}}' "$first")
    layers=$(docker image inspect --format '{{len .RootFS.Layers}}' "$first")
  else
    size=$(podman image inspect --format '{{.Size}}' "$first")
    layers=$(buildah inspect --type image --format '{{len .OCIv1.RootFS.DiffIDs}}' "$first")
  fi
  printf '%-45s %12s %8s\n' "$first" "$size" "$layers"
done
echo "setup total: $(since "$t_all") s"
