# Installs what the project's commands need and the machine lacks; fast when all is there.
# Sourced by scripts/demo and scripts/test.

ensure_rust_components() {
    local missing=()
    cargo fmt --version >/dev/null 2>&1 || missing+=(rustfmt)
    cargo clippy --version >/dev/null 2>&1 || missing+=(clippy)
    if ((${#missing[@]})); then
        echo "==> installing Rust components: ${missing[*]}"
        rustup component add "${missing[@]}"
    fi
}
