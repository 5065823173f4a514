#!/bin/bash
# A real Kubernetes control plane on 127.0.0.1 for the e2e suites: kube-apiserver,
# kube-controller-manager, kube-scheduler and kubectl v1.20.2, compiled from Debian bookworm's
# `kubernetes` source package (its orig tarball is the full upstream tree with vendor/) with
# Debian's Go, over Debian's etcd. There is no kubelet: a test plays the node
# (test/support/kube/fake-node.ts).
#
#   control-plane.sh built                      exit 0 when the binaries and runtime packages are present
#   control-plane.sh can_build                  exit 2 with the one command to run when this user cannot build
#   control-plane.sh build                      once per machine: ~5 min on 2 cores, ~1.4 GB peak RAM
#   control-plane.sh up STATE API ETCD PEER     etcd + kube-apiserver + kube-controller-manager on the given
#                                               ports; certs, token, etcd data and kubeconfig in STATE
#   control-plane.sh node STATE                 kube-scheduler, so Pods get bound to the test's node
#   control-plane.sh down STATE                 stop what up/node started (by recorded pid)
#
# The binaries are cached in ${XDG_CACHE_HOME:-$HOME/.cache}/outpost-kube/bin; every cluster's
# state lives only in its STATE directory, so parallel test files each run their own.
set -euo pipefail
K=${OUTPOST_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/outpost-kube}
V=1.20.2
ORIG="kubernetes_1.20.5+really${V}.orig.tar.gz"
BINARIES="kube-apiserver kube-controller-manager kube-scheduler kubectl"
PACKAGES="golang-go etcd-server etcd-client golang-github-modern-go-reflect2-dev openssl"
REFLECT2=/usr/share/gocode/src/github.com/modern-go/reflect2

runtime_present() { command -v etcd >/dev/null && command -v etcdctl >/dev/null && command -v openssl >/dev/null; }
binaries_present() { for b in $BINARIES; do [ -x "$K/bin/$b" ] || return 1; done; }
build_packages_present() { runtime_present && command -v go >/dev/null && [ -d "$REFLECT2" ]; }

built() { binaries_present && runtime_present; }

# Exit 2 with one line naming the command to run when this user cannot build (no root, no packages).
can_build() {
  if ! build_packages_present && [ "$(id -u)" != 0 ]; then
    echo "the Kubernetes control plane for the tests needs Debian packages — run \`sudo apt-get install -y $PACKAGES\`, then try again" >&2
    exit 2
  fi
}

build() {
  if built; then echo "built already: $K/bin"; return 0; fi
  can_build
  if ! build_packages_present; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # golang 1.19, etcd 3.4, reflect2 1.0.2 (the vendored reflect2 1.0.1 crashes on Go >= 1.18)
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $PACKAGES
  fi
  binaries_present && return 0
  mkdir -p "$K/src" "$K/bin" "$K/gopath/src/k8s.io"
  local tree="$K/gopath/src/k8s.io/kubernetes"
  local r="$tree/vendor/github.com/modern-go/reflect2"
  if [ ! -d "$tree/cmd/kube-apiserver" ] || ! cmp -s "$REFLECT2/reflect2.go" "$r/reflect2.go"; then
    cd "$K/src"
    if [ ! -f "$ORIG" ]; then
      # A private deb-src list and private apt state under $K, so no root is needed and the
      # machine's apt configuration is left alone. Same mirror as the machine's own sources.
      local mirror
      mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
      mirror=${mirror:-http://deb.debian.org/debian}
      printf 'Types: deb-src\nURIs: %s\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" >"$K/src/src.sources"
      mkdir -p "$K/src/apt/lists/partial" "$K/src/apt/cache/archives/partial"
      local apto=(-o "Dir::Etc::sourcelist=$K/src/src.sources" -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0
        -o "Dir::State::Lists=$K/src/apt/lists" -o "Dir::Cache=$K/src/apt/cache" -o Debug::NoLocking=1
        -o APT::Sandbox::User="$(id -un)")
      apt-get "${apto[@]}" update -q
      apt-get "${apto[@]}" source --download-only kubernetes
    fi
    rm -rf "$tree" "kubernetes-$V" && tar xzf "$ORIG" && mv "kubernetes-$V" "$tree"
    rm -rf "$r" && mkdir "$r" && cp "$REFLECT2"/*.go "$REFLECT2"/*.s "$r/"
  fi
  cd "$tree"
  # GOPATH mode: Go 1.19 rejects the v1.20 go.mod with -mod=vendor; GOPATH + vendor/ builds.
  export GO111MODULE=off GOPATH="$K/gopath" GOCACHE="$K/gocache" CGO_ENABLED=0
  local ld="-s -w" p
  for p in k8s.io/kubernetes/vendor/k8s.io/component-base/version k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=v$V -X $p.gitMajor=1 -X $p.gitMinor=20 -X $p.gitTreeState=clean -X $p.buildDate=2021-01-13T00:00:00Z"
  done
  # pkg/generated/openapi/zz_generated.openapi.go is made by upstream's `make`, not shipped.
  if [ ! -f pkg/generated/openapi/zz_generated.openapi.go ]; then
    go build -o "$K/bin/openapi-gen" ./vendor/k8s.io/kube-openapi/cmd/openapi-gen
    local dirs
    dirs=$({ find . \( -path ./staging -o -path ./vendor -o -path ./_output \) -prune -o -name '*.go' -print; find -L vendor/k8s.io -name '*.go'; } |
      grep -v -E '^(\./)?vendor/k8s.io/(code-generator|sample-apiserver)/' | xargs grep -l '^// *+k8s:' | xargs grep -l '+k8s:openapi-gen=' |
      xargs -n1 dirname | sed 's#^\./##' | LC_ALL=C sort -u | sed 's#^#k8s.io/kubernetes/#' | paste -sd,)
    "$K/bin/openapi-gen" --logtostderr -i "$dirs" -p k8s.io/kubernetes/pkg/generated/openapi -O zz_generated.openapi \
      -h vendor/k8s.io/code-generator/hack/boilerplate.go.txt -r "$K/openapi-violations.report"
  fi
  local c
  for c in $BINARIES; do
    [ -x "$K/bin/$c" ] || go build -ldflags "$ld" -o "$K/bin/$c" "./cmd/$c"
  done
  echo "built: $K/bin"
}

usage() { echo "usage: control-plane.sh built|can_build|build | up STATE API_PORT ETCD_PORT ETCD_PEER_PORT | node STATE | down STATE" >&2; exit 64; }

# Polls a condition (a command) every 0.2 s for at most $1 seconds.
wait_until() {
  local seconds=$1; shift
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then return 1; fi
    sleep 0.2
  done
}

up() {
  [ $# -eq 4 ] || usage
  local S=$1 api=$2 etcd_port=$3 peer=$4
  built || { echo "the Kubernetes control plane is not built — run \`$0 build\` first" >&2; exit 2; }
  mkdir -p "$S" && S=$(cd "$S" && pwd) && cd "$S"
  [ -f sa.key ] || { openssl genrsa -out sa.key 2048 2>/dev/null && openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null; }
  [ -f token ] || openssl rand -hex 24 >token
  local token
  token=$(cat token)
  echo "$token,admin,admin,system:masters" >tokens.csv
  etcd --name outpost-test --data-dir "$S/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --initial-cluster "outpost-test=http://127.0.0.1:$peer" >etcd.log 2>&1 &
  echo $! >etcd.pid
  wait_until 30 env ETCDCTL_API=3 etcdctl --endpoints="127.0.0.1:$etcd_port" endpoint health ||
    { echo "etcd did not become healthy on 127.0.0.1:$etcd_port — see $S/etcd.log" >&2; exit 1; }
  "$K/bin/kube-apiserver" --etcd-servers="http://127.0.0.1:$etcd_port" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api" --insecure-port=0 \
    --cert-dir="$S/pki" --token-auth-file="$S/tokens.csv" --authorization-mode=Node,RBAC \
    --service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$S/sa.pub" \
    --service-account-signing-key-file="$S/sa.key" --service-cluster-ip-range=10.96.0.0/16 \
    --allow-privileged=true --feature-gates=TTLAfterFinished=true --kubelet-preferred-address-types=InternalIP >apiserver.log 2>&1 &
  echo $! >apiserver.pid
  cat >kubeconfig <<EOF
apiVersion: v1
kind: Config
clusters: [{name: outpost-test, cluster: {server: "https://127.0.0.1:$api", insecure-skip-tls-verify: true}}]
users: [{name: admin, user: {token: "$token"}}]
contexts: [{name: outpost-test, context: {cluster: outpost-test, user: admin, namespace: default}}]
current-context: outpost-test
EOF
  wait_until 120 "$K/bin/kubectl" --kubeconfig "$S/kubeconfig" get --raw /readyz ||
    { echo "kube-apiserver did not become ready on 127.0.0.1:$api; the end of $S/apiserver.log:" >&2; tail -n 15 apiserver.log >&2; exit 1; }
  "$K/bin/kube-controller-manager" --kubeconfig="$S/kubeconfig" --leader-elect=false \
    --port=0 --bind-address=127.0.0.1 --secure-port=0 \
    --service-account-private-key-file="$S/sa.key" --root-ca-file="$S/pki/apiserver.crt" \
    --use-service-account-credentials=false --feature-gates=TTLAfterFinished=true \
    --controllers='*,-nodelifecycle,-nodeipam,-cloud-node-lifecycle,-route,-service' >kcm.log 2>&1 &
  echo $! >kcm.pid
  echo "up: KUBECONFIG=$S/kubeconfig (server https://127.0.0.1:$api)"
}

node() {
  [ $# -eq 1 ] || usage
  local S
  S=$(cd "$1" && pwd)
  [ -f "$S/kubeconfig" ] || { echo "no cluster in $S — run \`$0 up\` first" >&2; exit 2; }
  "$K/bin/kube-scheduler" --kubeconfig="$S/kubeconfig" --leader-elect=false --port=0 --secure-port=0 >"$S/scheduler.log" 2>&1 &
  echo $! >"$S/scheduler.pid"
}

down() {
  [ $# -eq 1 ] || usage
  local S=$1 p pid pids=()
  # Every component is told at once (their state goes with the directory), then each is waited for.
  for p in scheduler kcm apiserver etcd; do
    [ -f "$S/$p.pid" ] || continue
    pid=$(cat "$S/$p.pid")
    kill "$pid" 2>/dev/null || true
    pids+=("$pid")
    rm -f "$S/$p.pid"
  done
  for pid in "${pids[@]}"; do
    wait_until 20 sh -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
  done
}

cmd=${1:-}
[ -n "$cmd" ] || usage
shift
case "$cmd" in
built | can_build | build | up | node | down) "$cmd" "$@" ;;
*) usage ;;
esac
