#!/bin/bash
# Starts another glance-api on the state of a running peer (/work/shared/peer-glance) with
# one configuration variant, for the recorders in this directory:
#   test/rbac/start-glance-variant.sh /tmp/peer-rbac 9302 roles          # property protections, roles format
#   test/rbac/start-glance-variant.sh /tmp/peer-rbac 9303 policies       # property protections, policies format
#   test/rbac/start-glance-variant.sh /tmp/peer-rbac 9304 new-defaults   # enforce_new_defaults + enforce_secure_rbac
# Stop it with: kill "$(cat /tmp/peer-rbac/run/variant-9302.pid)"
set -euo pipefail
DIR=$1 PORT=$2 VARIANT=$3
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$DIR/etc/variant-$PORT"
EXTRA=$DIR/etc/variant-$PORT/extra.conf
POLICY=$DIR/etc/variant-$PORT/policy.yaml
echo '{}' >"$POLICY"
{
  echo "[DEFAULT]"
  echo "bind_port = $PORT"
  echo "log_file = $DIR/log/glance-api-variant-$PORT.log"
  case $VARIANT in
    roles|policies)
      echo "property_protection_file = $HERE/property-protections-$VARIANT.conf"
      echo "property_protection_rule_format = $VARIANT"
      [ "$VARIANT" = policies ] && cp "$HERE/property-protections-policy.yaml" "$POLICY" ;;
    new-defaults)
      echo "enforce_secure_rbac = true" ;;
    *) echo "unknown variant $VARIANT" >&2; exit 2 ;;
  esac
  echo "[oslo_policy]"
  echo "policy_file = $POLICY"
  [ "$VARIANT" = new-defaults ] && echo "enforce_new_defaults = true"
  true
} >"$EXTRA"
PYTHONPATH="$DIR/lib${PYTHONPATH:+:$PYTHONPATH}" \
  setsid nohup glance-api --config-file "$DIR/etc/glance-api.conf" --config-file "$EXTRA" \
  >>"$DIR/log/variant-$PORT.out" 2>&1 </dev/null &
echo $! >"$DIR/run/variant-$PORT.pid"
for _ in $(seq 1 60); do
  if curl -sf "http://127.0.0.1:$PORT/versions" >/dev/null; then echo "http://127.0.0.1:$PORT"; exit 0; fi
  sleep 0.5
done
echo "glance-api on $PORT did not start; see $DIR/log/variant-$PORT.out" >&2
exit 1
