# Installs what the project's commands need and the machine lacks; quick when all is there.
# Sourced by scripts/demo and scripts/test.

TRUNK_VERSION=0.21.14
export PATH="$HOME/.cargo/bin:$PWD/end2end/node_modules/.bin:$PATH"

ensure_rust_components() {
    local missing=()
    cargo fmt --version >/dev/null 2>&1 || missing+=(rustfmt)
    cargo clippy --version >/dev/null 2>&1 || missing+=(clippy)
    if ((${#missing[@]})); then
        echo "==> installing Rust components: ${missing[*]}"
        rustup component add "${missing[@]}"
    fi
}

ensure_wasm_target() {
    if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
        echo "==> installing the wasm32-unknown-unknown target"
        rustup target add wasm32-unknown-unknown
    fi
}

# cargo install, falling back to an unlocked install when the registry lacks a locked version.
cargo_install() {
    cargo install --locked "$@" || cargo install "$@"
}

ensure_trunk() {
    if ! trunk --version 2>/dev/null | grep -q " $TRUNK_VERSION\$"; then
        echo "==> installing trunk $TRUNK_VERSION (about 10 minutes)"
        cargo_install trunk --version "$TRUNK_VERSION"
    fi
}

# wasm-bindgen-cli must be exactly the wasm-bindgen crate's version in Cargo.lock.
ensure_wasm_bindgen() {
    local version
    version=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')
    if ! wasm-bindgen --version 2>/dev/null | grep -q " $version\$"; then
        echo "==> installing wasm-bindgen-cli $version (about 6 minutes)"
        cargo_install wasm-bindgen-cli --version "$version"
    fi
}

# Playwright and binaryen (wasm-opt for the SPA's release build), as locked in end2end/.
ensure_npm_packages() {
    if [ ! -x end2end/node_modules/.bin/wasm-opt ] || [ ! -x end2end/node_modules/.bin/playwright ] \
        || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
        echo "==> installing npm packages in end2end/"
        (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
    fi
}

apt_install() {
    echo "==> installing $* with apt-get"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@"
}

ensure_redis() {
    command -v redis-server >/dev/null 2>&1 || apt_install redis-server
}

# Starts a throwaway Redis on a free loopback port for the tests and sets REDIS_URL, unless
# REDIS_URL already names one. It stops when the calling script exits.
start_test_redis() {
    [ -z "${REDIS_URL:-}" ] || return 0
    ensure_redis
    local port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no >/dev/null &
    TEST_REDIS_PID=$!
    trap 'kill ${TEST_REDIS_PID:-} ${TEST_CLUSTER_PIDS:-} 2>/dev/null || true; rm -rf "${TEST_CLUSTER_DIR:-}"' EXIT
    for _ in $(seq 100); do
        redis-cli -p "$port" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    export REDIS_URL="redis://127.0.0.1:$port/"
    echo "==> a throwaway Redis at $REDIS_URL"
}

# nginx from Debian's packages, run by the tests as an ordinary process on loopback. The package's
# own service is kept from starting while it installs (it would take port 80), and stopped and
# disabled on a machine with systemd.
ensure_nginx() {
    if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
        return 0
    fi
    local sudo="" own_policy=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
        $sudo chmod +x /usr/sbin/policy-rc.d
        own_policy=1
    fi
    apt_install nginx
    [ -z "$own_policy" ] || $sudo rm -f /usr/sbin/policy-rc.d
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
        $sudo systemctl disable --now nginx || true
    fi
}

# Whether something listens on a loopback port.
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Starts a throwaway Redis Cluster (three masters, three replicas) on loopback for the tests and
# sets REDIS_CLUSTER_URL, unless it names one already. It stops when the calling script exits.
# Node ports and their bus ports (each + 10000) stay below 32768, out of the range the kernel
# hands out to outgoing connections.
start_test_redis_cluster() {
    [ -z "${REDIS_CLUSTER_URL:-}" ] || return 0
    ensure_redis
    local dir port ports=() _
    dir=$(mktemp -d)
    TEST_CLUSTER_DIR=$dir
    port=$((20000 + RANDOM % 2500))
    while [ "${#ports[@]}" -lt 6 ]; do
        port=$((port + 1))
        [ "$port" -lt 22767 ] || port=20000
        port_in_use "$port" || port_in_use $((port + 10000)) || ports+=("$port")
    done
    for port in "${ports[@]}"; do
        redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
            --cluster-config-file "$dir/nodes-$port.conf" --cluster-node-timeout 1000 \
            --dir "$dir" --save "" --appendonly no >/dev/null &
        TEST_CLUSTER_PIDS="${TEST_CLUSTER_PIDS:-} $!"
    done
    trap 'kill ${TEST_REDIS_PID:-} ${TEST_CLUSTER_PIDS:-} 2>/dev/null || true; rm -rf "${TEST_CLUSTER_DIR:-}"' EXIT
    for port in "${ports[@]}"; do
        for _ in $(seq 100); do
            redis-cli -p "$port" ping >/dev/null 2>&1 && break
            sleep 0.1
        done
    done
    redis-cli --cluster create $(printf '127.0.0.1:%s ' "${ports[@]}") \
        --cluster-replicas 1 --cluster-yes >/dev/null
    for port in "${ports[@]}"; do
        for _ in $(seq 300); do
            redis-cli -p "$port" cluster info 2>/dev/null | grep -q cluster_state:ok && continue 2
            sleep 0.1
        done
        echo "error: the test Redis Cluster is not up on port $port after 30 s" >&2
        return 1
    done
    export REDIS_CLUSTER_URL="redis+cluster://127.0.0.1:${ports[0]},127.0.0.1:${ports[1]},127.0.0.1:${ports[2]}"
    echo "==> a throwaway Redis Cluster at $REDIS_CLUSTER_URL"
}

ensure_chromium() {
    [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] || apt_install chromium chromium-driver
}

# Builds the SPA into dist/, size-optimised. Trunk runs offline: the tools above are the ones it uses.
build_spa() {
    ensure_wasm_target
    ensure_trunk
    ensure_wasm_bindgen
    ensure_npm_packages
    echo "==> building the SPA (trunk build --release)"
    trunk build --release --offline
}
