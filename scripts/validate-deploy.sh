#!/usr/bin/env bash
# Checks deploy/ offline: every kustomization builds, every object validates against the
# Kubernetes OpenAPI schemas (and the custom resources against deploy/schemas/), the manifests
# keep their security and wiring properties, and the image's library list matches the binary.
#
#   scripts/validate-deploy.sh                      manifests only (well under a minute once set up)
#   scripts/validate-deploy.sh --bin PATH           also: each overlay's configuration with
#                                                   `PATH check-config`, the DaemonSet's flags
#                                                   against `PATH help serve`, and the
#                                                   Dockerfile's runtime libraries against `ldd PATH`
#   scripts/validate-deploy.sh --build              also: run the Dockerfile's `swift build` line
#                                                   here (same flags) and check the binary it
#                                                   makes as with --bin; --scratch-path DIR sets
#                                                   its build directory (default .build-docker)
#
# Installs what it needs when missing: Debian's kubernetes-client (kubectl, with kustomize) and,
# in a virtual environment under .tmp/, kubernetes-validate from PyPI. KUBECTL=PATH picks another
# kubectl (the kustomizations build with the kustomize 2.0 of Debian's and with current ones).
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C

# The OpenAPI schemas of these Kubernetes versions: the newest kubernetes-validate carries and
# the oldest release the manifests are meant for.
KUBERNETES_VALIDATE_VERSION=1.37.0
KUBERNETES_VERSIONS=(1.37.0 1.30.0)

bin=""
build=false
scratch=.build-docker
while [[ $# -gt 0 ]]; do
    case $1 in
        --bin) bin=$2; shift 2 ;;
        --build) build=true; shift ;;
        --scratch-path) scratch=$2; shift 2 ;;
        -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "validate-deploy: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

work=.tmp/validate-deploy
mkdir -p "$work"
rm -f "$work"/*.yaml "$work"/*.args "$work"/*.stderr "$work"/*.without-kubernetes
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "  ok    $*"; }
fail() { failed=$((failed + 1)); echo "  FAIL  $*"; }

# A newline-separated list on one line.
words() { tr '\n' ' ' <<<"$1" | sed 's/ *$//'; }

as_root() {
    if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

apt_install() {
    echo "validate-deploy: installing $* from Debian"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- Tools ----------------------------------------------------------------------------------
kubectl=${KUBECTL:-kubectl}
if ! command -v "$kubectl" >/dev/null; then
    apt_install kubernetes-client
fi
venv=$work/venv
if ! "$venv/bin/python" -c "import kubernetes_validate.version as v, sys; sys.exit(v.__version__ != '$KUBERNETES_VALIDATE_VERSION')" 2>/dev/null; then
    echo "validate-deploy: installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION into $venv"
    rm -rf "$venv"
    # Debian's python3 makes virtual environments only with python3-venv (pip inside them).
    if ! command -v python3 >/dev/null || ! python3 -m venv "$venv" >/dev/null 2>&1; then
        rm -rf "$venv"
        apt_install python3 python3-venv
        python3 -m venv "$venv"
    fi
    "$venv/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi
echo "validate-deploy: $("$kubectl" version --client 2>/dev/null | head -n 2 | tr '\n' ' ')"

# --- Build every kustomization --------------------------------------------------------------
echo "kustomize builds"
targets=(base)
for overlay in deploy/overlays/*/; do targets+=("overlays/$(basename "$overlay")"); done
built=()
for target in "${targets[@]}"; do
    out=$work/$(basename "$target").yaml
    if "$kubectl" kustomize "deploy/$target" >"$out" 2>"$out.stderr"; then
        pass "kubectl kustomize deploy/$target"
        built+=("$(basename "$target")=$out")
    else
        fail "kubectl kustomize deploy/$target"
        sed 's/^/        /' "$out.stderr"
    fi
done

# --- Schemas and properties of the manifests --------------------------------------------------
echo "schemas and properties (Kubernetes ${KUBERNETES_VERSIONS[*]})"
"$venv/bin/python" - "$work" "${KUBERNETES_VERSIONS[*]}" "${built[@]}" <<'PY'
import json
import os
import sys

import jsonschema
import yaml
from kubernetes_validate import utils as kv

work, versions, built = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
CUSTOM = {
    ("monitoring.coreos.com/v1", "PodMonitor"): "deploy/schemas/podmonitor.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "deploy/schemas/prometheusrule.json",
    ("telemetry.istio.io/v1", "Telemetry"): "deploy/schemas/telemetry.json",
    ("gateway.envoyproxy.io/v1alpha1", "EnvoyProxy"): "deploy/schemas/envoyproxy.json",
}
STATE_DIR = "/var/lib/logmetrics"
results = []


def check(ok, what):
    results.append((bool(ok), what))


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def validate(doc, source):
    key = (doc.get("apiVersion"), doc.get("kind"))
    name = f"{source}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
    if key in CUSTOM:
        with open(CUSTOM[key]) as f:
            schema = json.load(f)
        errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(doc), key=str)
        detail = "; ".join(f"{'.'.join(map(str, e.path))}: {e.message[:160]}" for e in errors[:3])
        check(not errors, f"{name} against {CUSTOM[key]}" + (f": {detail}" if errors else ""))
        return
    for version in versions:
        try:
            kv.validate(doc, version, strict=True)
            check(True, f"{name} against Kubernetes {version} (strict)")
        except kv.ValidationError as e:
            check(False, f"{name} against Kubernetes {version}: {'.'.join(map(str, e.path))}: {e.message[:160]}")
        except kv.SchemaNotFoundError as e:
            check(False, f"{name}: no schema for {doc.get('apiVersion')} {doc.get('kind')} ({e.message})")


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def properties(name, docs):
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    daemonsets = by_kind.get("DaemonSet", [])
    check(len(daemonsets) == 1, f"{name}: one DaemonSet")
    if len(daemonsets) != 1:
        return
    ds = daemonsets[0]
    pod = ds["spec"]["template"]
    spec = pod["spec"]
    pod_labels = pod["metadata"].get("labels", {})
    containers = {c["name"]: c for c in spec["containers"]}
    main = containers.get("logmetrics")
    check(main is not None, f"{name}: a container named logmetrics")
    if main is None:
        return

    # Security: non-root, nothing to escalate, no capabilities, read-only image.
    psc = spec.get("securityContext", {})
    check(psc.get("runAsNonRoot") is True and psc.get("runAsUser", 0) != 0, f"{name}: pod runs as a non-root user")
    check(psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", f"{name}: RuntimeDefault seccomp profile")
    csc = main.get("securityContext", {})
    caps = csc.get("capabilities", {})
    check(
        csc.get("allowPrivilegeEscalation") is False and csc.get("readOnlyRootFilesystem") is True
        and caps.get("drop") == ["ALL"] and not caps.get("add") and csc.get("runAsUser", 1) != 0
        and not csc.get("privileged"),
        f"{name}: logmetrics container is unprivileged, drops all capabilities, read-only root")
    for init in spec.get("initContainers", []):
        isc = init.get("securityContext", {})
        added = set(isc.get("capabilities", {}).get("add", []))
        check(
            isc.get("allowPrivilegeEscalation") is False and isc.get("readOnlyRootFilesystem") is True
            and isc.get("capabilities", {}).get("drop") == ["ALL"] and added <= {"CHOWN"},
            f"{name}: init container {init['name']} holds at most CHOWN")
    check(any(t.get("operator") == "Exists" and "key" not in t for t in spec.get("tolerations", [])),
          f"{name}: tolerates every taint (runs on every node)")

    # Volumes: the node's logs read-only, only the state directory writable.
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    host = {n: v["hostPath"]["path"] for n, v in volumes.items() if "hostPath" in v}
    check({"/var/log/pods", "/var/log/containers", STATE_DIR} <= set(host.values()),
          f"{name}: hostPath volumes for /var/log/pods, /var/log/containers and {STATE_DIR}")
    for n, path in host.items():
        for c in [main] + spec.get("initContainers", []):
            for m in c.get("volumeMounts", []):
                if m["name"] == n:
                    check(m.get("readOnly") is True or path == STATE_DIR,
                          f"{name}: {c['name']} mounts {path} " + ("read-only" if path != STATE_DIR else "(state)")
                          + " at the node's own path" if m["mountPath"] == path else " elsewhere")

    # Wiring: NODE_NAME, probes, ports, resources, configuration.
    env = {e["name"]: e for e in main.get("env", [])}
    check(env.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "spec.nodeName",
          f"{name}: NODE_NAME from the downward API")
    ports = {p["name"]: p["containerPort"] for p in main.get("ports", [])}
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = main.get(probe, {}).get("httpGet", {})
        check(get.get("path") == path and get.get("port") in ports, f"{name}: {probe} on {path}")
    res = main.get("resources", {})
    check(all(k in res.get(s, {}) for s in ("requests", "limits") for k in ("cpu", "memory")),
          f"{name}: cpu and memory requests and limits")
    args = main.get("args", [])
    listen = [a.split("=", 1)[1] for a in args if a.startswith("--listen=")]
    check(listen and int(listen[0].rsplit(":", 1)[1]) in ports.values(), f"{name}: --listen port is the metrics port")
    ann = pod["metadata"].get("annotations", {})
    check(ann.get("prometheus.io/scrape") == "true" and int(ann.get("prometheus.io/port", 0)) in ports.values()
          and ann.get("prometheus.io/path") == "/metrics", f"{name}: prometheus.io annotations")
    check(any(a.startswith("/var/log/pods/") or a.startswith("/var/log/containers/") for a in args),
          f"{name}: reads container logs under /var/log")
    config = [a.split("=", 1)[1] for a in args if a.startswith("--config=")]
    configmaps = {d["metadata"]["name"]: d for d in by_kind.get("ConfigMap", [])}
    found = None
    if config:
        directory, filename = os.path.split(config[0])
        for m in main.get("volumeMounts", []):
            v = volumes.get(m["name"], {})
            if m["mountPath"] == directory and "configMap" in v:
                found = configmaps.get(v["configMap"]["name"], {}).get("data", {}).get(filename)
    check(found is not None, f"{name}: --config names a file of a ConfigMap in the build")
    if found is not None:
        with open(os.path.join(work, f"{name}.config.yaml"), "w") as f:
            f.write(found)
    with open(os.path.join(work, f"{name}.args"), "w") as f:
        f.write("\n".join(a for a in args if a.startswith("--")) + "\n")

    # Scraping: Service and PodMonitor point at the pods and their named port.
    for svc in by_kind.get("Service", []):
        check(selects(svc["spec"].get("selector"), pod_labels)
              and all(p.get("targetPort") in ports for p in svc["spec"]["ports"]),
              f"{name}: Service {svc['metadata']['name']} selects the pods' metrics port")
        check(svc["spec"].get("clusterIP") == "None", f"{name}: Service is headless (one target per node)")
    for pm in by_kind.get("PodMonitor", []):
        check(selects(pm["spec"]["selector"].get("matchLabels"), pod_labels)
              and all(e.get("port") in ports for e in pm["spec"]["podMetricsEndpoints"]),
              f"{name}: PodMonitor selects the pods' metrics port")

    # API access: only where enrichment needs it, read-only, pods and services.
    roles = by_kind.get("ClusterRole", []) + by_kind.get("Role", [])
    bindings = by_kind.get("ClusterRoleBinding", []) + by_kind.get("RoleBinding", [])
    token = spec.get("automountServiceAccountToken")
    if name == "enrichment":
        check(roles and bindings and token is True, f"{name}: RBAC and a mounted token")
    else:
        check(not roles and not bindings and token is False, f"{name}: no RBAC and no token")
    for role in roles:
        for rule in role.get("rules", []):
            check(rule.get("apiGroups") == [""] and set(rule.get("resources", [])) <= {"pods", "services"}
                  and set(rule.get("verbs", [])) <= {"get", "list", "watch"} and "resourceNames" not in rule,
                  f"{name}: {role['kind']} {role['metadata']['name']} reads only pods and services")
    namespace = ds["metadata"].get("namespace")
    for binding in bindings:
        check(all(s.get("kind") == "ServiceAccount" and s.get("name") == spec.get("serviceAccountName")
                  and s.get("namespace") == namespace for s in binding.get("subjects", [])),
              f"{name}: {binding['kind']} binds only the DaemonSet's service account")
    namespaces = [d["metadata"]["name"] for d in by_kind.get("Namespace", [])]
    check(namespace in namespaces, f"{name}: the DaemonSet's namespace is created by the build")


def monitoring(name, docs):
    """The rules and the dashboard that come with the monitoring overlay."""
    rules = [d for d in docs if d["kind"] == "PrometheusRule"]
    if name != "monitoring":
        check(not rules, f"{name}: no PrometheusRule (the monitoring overlay brings it)")
        return
    source = load("deploy/overlays/monitoring/rules.yaml")[0]
    check(len(rules) == 1 and rules[0]["spec"] == source,
          f"{name}: the PrometheusRule has exactly the groups of rules.yaml (which promtool tests)")
    maps = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "logmetrics-dashboard"]
    check(len(maps) == 1 and maps[0]["metadata"].get("labels", {}).get("grafana_dashboard") == "1",
          f"{name}: the dashboard ConfigMap carries the grafana_dashboard label")
    if maps:
        dashboard = json.loads(maps[0]["data"]["grafana-dashboard.json"])
        names = [v["name"] for v in dashboard["templating"]["list"]]
        check(names == ["datasource", "namespace", "gateway", "route"] and dashboard["uid"],
              f"{name}: the dashboard has a uid and the variables datasource, namespace, gateway, route")
        check(all(t.get("expr") for p in dashboard["panels"] for t in p["targets"]),
              f"{name}: every dashboard panel has a query")


for item in built:
    name, path = item.split("=", 1)
    docs = load(path)
    for doc in docs:
        validate(doc, name)
    properties(name, docs)
    monitoring(name, docs)

# The Istio files, applied with kubectl apply -f.
telemetry = load("deploy/istio/telemetry.yaml")
for doc in telemetry:
    validate(doc, "istio/telemetry.yaml")
values = load("deploy/istio/istiod-values.yaml")[0]
providers = {p["name"]: p for p in values.get("meshConfig", {}).get("extensionProviders", [])}
used = {p["name"] for d in telemetry for a in d["spec"].get("accessLogging", []) for p in a.get("providers", [])}
check(used and used <= set(providers), "istio: every provider the Telemetry resources name is in istiod-values.yaml")
for p in used & set(providers):
    fmt = providers[p].get("envoyFileAccessLog", {})
    check(fmt.get("path") == "/dev/stdout" and fmt.get("logFormat") == {"labels": {}},
          f"istio: provider {p} writes Istio's default JSON to standard output")

for ok, what in results:
    print(("  ok    " if ok else "  FAIL  ") + what)
with open(os.path.join(work, "counts"), "w") as f:
    f.write(f"{sum(ok for ok, _ in results)} {sum(not ok for ok, _ in results)}\n")
PY
read -r python_passed python_failed <"$work/counts"
passed=$((passed + python_passed))
failed=$((failed + python_failed))

# --- The binary: configurations, flags, libraries ---------------------------------------------
dockerfile=deploy/Dockerfile
# check_libraries BINARY STRICT MODE: the sonames BINARY needs against the Dockerfile's
# runtime-libraries list: the same set (MODE exact, the logmetrics binary) or within it (MODE
# subset, the crash reporter that rides along). STRICT: a dynamically linked Swift runtime fails.
check_libraries() {
    local binary=$1 strict=$2 mode=$3
    local listed packages installed needed swift_runtime=() system=()
    local loaded
    listed=$(sed -n 's/^# \(runtime\|loaded\)-libraries: //p' "$dockerfile" | tr ' ' '\n' | sed 's/=.*//' | sort -u)
    # Libraries the binary loads itself when it first needs them (dlopen): not in its ldd, but
    # the image needs them and what they need.
    loaded=$(sed -n 's/^# loaded-libraries: //p' "$dockerfile" | tr ' ' '\n' | sed 's/=.*//' | grep -v '^$' || true)
    if [[ $mode == exact ]]; then
        # The libraries' packages, and the packages the image needs for files (CA certificates).
        packages=$( { sed -n 's/^# \(runtime\|loaded\)-libraries: //p' "$dockerfile" | tr ' ' '\n' | sed 's/.*=//'
            sed -n 's/^# runtime-files: //p' "$dockerfile" | tr ' ' '\n'; } | grep -v '^$' | sort -u)
        # The runtime stage's apt-get install line, package names only.
        installed=$(awk '/^FROM .*RUNTIME_IMAGE/ {r=1} r && /apt-get install/ {print; exit}' "$dockerfile" \
            | tr ' ' '\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' | grep -vE '^(apt-get|install)$' | sort -u)
        if [[ "$packages" == "$installed" ]]; then
            pass "Dockerfile installs exactly the packages of its runtime-libraries and runtime-files lists"
        else
            fail "Dockerfile: runtime-libraries and runtime-files packages ($(words "$packages")) differ from apt-get install ($(words "$installed"))"
        fi
    fi
    # Sonames the binary needs, without the vDSO and the dynamic loader (libc6's).
    # The loaded libraries as this machine has them, of the binary's architecture (the directory
    # its libc comes from).
    local libdir paths=()
    libdir=$(ldd "$binary" | awk '$1 ~ /^libc\.so/ { sub(/\/[^\/]*$/, "", $3); print $3; exit }')
    if [[ $mode == exact ]]; then
        for lib in $loaded; do
            if [[ -e $libdir/$lib ]]; then
                paths+=("$libdir/$lib")
            else
                fail "$lib (which $binary loads when it needs it) is not installed in $libdir here"
            fi
        done
    fi
    needed=$( {
        ldd "$binary"
        for path in "${paths[@]}"; do
            basename "$path"
            ldd "$path"
        done
    } | awk '{print $1}' | grep -vE '^(linux-vdso|linux-gate)\.so|ld-linux' | sort -u)
    for lib in $needed; do
        case $lib in
            libswift* | libFoundation* | lib_Foundation* | libdispatch.so* | libBlocksRuntime.so*) swift_runtime+=("$lib") ;;
            *) system+=("$lib") ;;
        esac
    done
    if [[ ${#swift_runtime[@]} -gt 0 ]]; then
        if [[ $strict == true ]]; then
            fail "$binary links the Swift runtime dynamically (${swift_runtime[*]}); the image has no Swift"
        else
            echo "  note  $binary links the Swift runtime dynamically (not built with --static-swift-stdlib as"
            echo "        the image's is); comparing its other libraries. --build checks the image's own build."
        fi
    fi
    local have missing extra
    have=$(printf '%s\n' "${system[@]}" | sort -u)
    missing=$(comm -23 <(echo "$have") <(echo "$listed") | tr '\n' ' ')
    extra=$(comm -13 <(echo "$have") <(echo "$listed") | tr '\n' ' ')
    if [[ -z ${missing// /} && ( $mode == subset || -z ${extra// /} ) ]]; then
        pass "ldd $binary: $( [[ $mode == exact ]] && echo "exactly" || echo "within") the Dockerfile's runtime libraries ($(words "$have"))"
    else
        fail "ldd $binary vs deploy/Dockerfile runtime-libraries: needed but not listed: [${missing% }]$( [[ $mode == exact ]] && echo ", listed but not needed: [${extra% }]")"
    fi
}

check_binary() {
    local binary=$1 strict=$2
    echo "binary $binary"
    for config in "$work"/*.config.yaml; do
        local name output
        name=$(basename "$config" .config.yaml)
        if output=$("$binary" check-config "$config" 2>&1); then
            pass "$name: logmetrics check-config"
        elif grep -q ': kubernetes: unknown key' <<<"$output"; then
            echo "  skip  $name: this logmetrics has no kubernetes: section yet; the rest of the file is checked below"
            sed '/^kubernetes:/,$d' "$config" >"$config.without-kubernetes"
            if output=$("$binary" check-config "$config.without-kubernetes" 2>&1); then
                pass "$name: logmetrics check-config (without kubernetes:)"
            else
                fail "$name: logmetrics check-config: $output"
            fi
        else
            fail "$name: logmetrics check-config: $output"
        fi
    done
    local help
    help=$("$binary" help serve 2>&1)
    for args in "$work"/*.args; do
        local name flag unknown=()
        name=$(basename "$args" .args)
        while read -r flag; do
            [[ -z $flag ]] && continue
            flag=${flag%%=*}
            grep -qE -- "(^|[[:space:][])$flag([[:space:]=]|$)" <<<"$help" || unknown+=("$flag")
        done <"$args"
        if [[ ${#unknown[@]} -eq 0 ]]; then
            pass "$name: every DaemonSet flag is one logmetrics serve accepts"
        else
            fail "$name: flags logmetrics serve does not know: ${unknown[*]}"
        fi
    done
    check_libraries "$binary" "$strict" exact
}

if [[ -n $bin ]]; then
    check_binary "$bin" false
fi

if [[ $build == true ]]; then
    # The Dockerfile's own command, with a scratch directory of its own added.
    command=$(sed -n 's/^RUN \(swift build .*\)$/\1/p' "$dockerfile" | head -n 1)
    echo "build: $command --scratch-path $scratch"
    if $command --scratch-path "$scratch"; then
        pass "the Dockerfile's swift build runs"
        check_binary "$scratch/release/logmetrics" true
        backtrace=$(dirname "$(readlink -f "$(command -v swift)")")/../libexec/swift/linux/swift-backtrace-static
        if [[ -x $backtrace ]]; then
            echo "crash reporter $backtrace"
            check_libraries "$backtrace" true subset
        fi
    else
        fail "the Dockerfile's swift build"
    fi
fi

echo "validate-deploy: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
