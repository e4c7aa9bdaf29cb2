#!/bin/sh
# The hostile-peer ITs (issue 21) over and over, for a soak run by hand:
#   ops/hostile/run.sh [MINUTES]      (default 60)
# Each round runs, against a fresh in-process server: the NOP-Out and unread-READ floods
# (OutboundFloodIT), CHAP guessing and the 0x0302 cap (LoginAbuseIT), the 20-address idle flood
# (CrowdingIT) and the 2^31 / 2^32-1 length cases (UnsignedLengthIT), each with a verifying client
# where it applies. The script stops at the first failing round and prints each round's report lines.
set -eu
cd "$(dirname "$0")/../.."
minutes=${1:-60}
end=$(( $(date +%s) + minutes * 60 ))
round=0
while [ "$(date +%s)" -lt "$end" ]; do
  round=$((round + 1))
  echo "== round $round ($(date -u +%H:%M:%S))"
  if ! mvn -o -q -pl server -am verify -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false \
      -Dit.test='OutboundFloodIT,LoginAbuseIT,CrowdingIT,UnsignedLengthIT' > "server/target/hostile-round.log" 2>&1; then
    grep -E "FAIL|expected|Tests run" server/target/hostile-round.log | head -20
    echo "round $round failed; full log in server/target/hostile-round.log"
    exit 1
  fi
  grep -hE "^(OutboundFloodIT|LoginAbuseIT|CrowdingIT) " server/target/hostile-round.log || true
done
echo "$round rounds, all passed"
