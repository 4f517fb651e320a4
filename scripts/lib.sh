# Helpers shared by scripts/*: install what is missing, never more.
export UV_SYSTEM_CERTS=1

ensure_uv() {
    if ! command -v uv >/dev/null 2>&1; then
        python3 -m pip install --quiet uv
    fi
}

# Install Debian packages the tests drive (a real browser, an independent TOTP tool,
# the restic backup engine, pg_dump/pg_restore).
ensure_debian_packages() {
    local missing=()
    local pkg
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
        echo "Please install: ${missing[*]} (Debian packages)" >&2
        return 1
    fi
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}
