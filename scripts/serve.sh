#!/bin/sh
# The main job: starts relearnd on the embedded defaults (SQLite metadata and
# the local blob store under demo-data/relearnd), publishes the census example
# if it is not there yet, prints the service URLs, a key and a curl line that
# scores a row, and serves until Ctrl-C (which stops it cleanly).
#   scripts/serve.sh [BUILD]    (RELEARN_DEMO_DIR, RELEARN_DEMO_PORT override)
set -eu
build=${1:-build/release}
cd "$(dirname "$0")/.."
bin="$PWD/$build"
dir=${RELEARN_DEMO_DIR:-$PWD/demo-data}
port=${RELEARN_DEMO_PORT:-8080}
mkdir -p "$dir"
url="http://127.0.0.1:$port"

"$bin/relearnd" --data-dir "$dir/relearnd" --listen "127.0.0.1:$port" 2>>"$dir/relearnd.log" &
pid=$!
stop() {
    trap - INT TERM EXIT
    if kill -0 "$pid" 2>/dev/null; then
        echo "stopping relearnd"
        kill -TERM "$pid"
        wait "$pid" || true
    fi
    exit 0
}
trap stop INT TERM EXIT

i=0
until curl -fs "$url/health" >/dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
        echo "relearnd did not start; its log:" >&2
        tail -n 20 "$dir/relearnd.log" >&2
        exit 1
    fi
    sleep 0.1
done
export RELEARN_URL="$url"
RELEARN_TOKEN=$(cat "$dir/relearnd/admin-token" 2>/dev/null || echo "${RELEARN_ADMIN_TOKEN:-}")
export RELEARN_TOKEN

if ! "$bin/relearn" service list --json | grep -q '"Census income"'; then
    echo "publishing the census example (32,561 census-like rows, examples/census-training.json)"
    "$bin/relearn" generate census --rows 32561 --seed 1 --out "$dir/census.csv"
    "$bin/relearn" publish --name "Census income" --experiment examples/census-training.json \
        "$dir/census.csv" --json >"$dir/publish.json"
fi

# The predictive service's endpoint, from the management API.
"$bin/relearn" service list --json >"$dir/services.json"
id=$(/usr/bin/python3 -c "import json,sys
s=[x for x in json.load(open(sys.argv[1])) if x['Name']=='Census income' and x['Kind']=='predictive']
print(s[-1]['Id'])" "$dir/services.json")
curl -fs -H "Authorization: Bearer $RELEARN_TOKEN" \
    "$url/workspaces/default/webservices/$id/endpoints/default" >"$dir/endpoint.json"
/usr/bin/python3 - "$dir/endpoint.json" "$dir/services.json" <<'PY'
import json, sys
ep = json.load(open(sys.argv[1]))
services = json.load(open(sys.argv[2]))
training = [s for s in services if s["Kind"] == "training"]
body = {"Inputs": {"input1": {"ColumnNames": [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week",
    "native-country"], "Values": [["39", "State-gov", "77516", "Bachelors", "13",
    "Never-married", "Adm-clerical", "Not-in-family", "White", "Male", "2174", "0", "40",
    "United-States"]]}}, "GlobalParameters": {}}
print()
print("relearnd is serving the census example")
print("  predictive service (RRS, BES):", ep["ApiLocation"])
print("  help page:                    ", ep["HelpLocation"])
for t in training[-1:]:
    print("  training service id (BES):    ", t["Id"])
print("  primary key:                  ", ep["PrimaryKey"])
print()
print("Score a row:")
print("curl -s -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -d '%s' '%s/execute?api-version=2.0&details=true'"
      % (ep["PrimaryKey"], json.dumps(body, separators=(",", ":")), ep["ApiLocation"]))
print()
print("Press Ctrl-C to stop.")
PY
wait "$pid"
