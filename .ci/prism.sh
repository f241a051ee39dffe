#!/usr/bin/env bash
# Make Prism (the OpenAPI mock server used by the Twilio contract test) available.
#
#   .ci/prism.sh              install node_modules from package-lock.json if missing or stale,
#                             then check that the prism binary runs (no network needed after)
#   .ci/prism.sh mock [PORT]  also run a mock of Twilio's API description in the foreground
#
# Twilio's description is looked up in $TWILIO_OAI_SPEC, else in ../shared/twilio-oai/
# beside the clone (where CI copies shared/), the same rule the contract test uses.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
prism="$repo/node_modules/.bin/prism"

# npm writes node_modules/.package-lock.json on install; if the committed lock is newer,
# the tree is stale and `npm ci` rebuilds it from scratch.
if [[ ! -x "$prism" || package-lock.json -nt node_modules/.package-lock.json ]]; then
    echo "prism.sh: installing node devDependencies (npm ci)" >&2
    start=$SECONDS
    npm ci --no-audit --no-fund --loglevel=error >&2
    echo "prism.sh: npm ci took $((SECONDS - start))s" >&2
fi

version="$("$prism" --version)"
echo "prism.sh: prism $version" >&2

if [[ "${1:-}" == "mock" ]]; then
    spec="${TWILIO_OAI_SPEC:-$repo/../shared/twilio-oai/twilio_api_v2010.json}"
    exec "$prism" mock "$spec" -h 127.0.0.1 -p "${2:-4010}" --errors
fi
