#!/usr/bin/env bash
# e2e-load.sh: issue 28's end-to-end runs, real binaries on 127.0.0.1. They are go test benchmarks
# (cmd/hipchat-connector/load_*_test.go) that build the binaries and start them as an operator would:
# the HipChat emulator (hipchat-connector sim, every limit off), a verifying callback sink
# (internal/devsink), and serve on bbolt, on etcd with one replica, and on etcd with three replicas
# behind a round-robin load balancer (internal/devlb, their -public-url, where HipChat's room webhooks
# call); etcd is the etcd on PATH (one member), or else (or with -E dev) internal/devetcd (one
# embedded member of the etcd server version in go.mod).
#
#   load     (default) 50 tokens, 50 rooms × 4 message subscriptions, a burst of messages posted by 8
#            clients as fast as the emulator takes them (20,000 on bbolt, 5,000 on etcd), push on, a 2 s
#            poll: deliveries/s from the first post to the last delivery and CPU-ms per delivery of the
#            connector(s), the emulator, the sink and etcd, beside the sink's POSTs/s from a plain client
#            and the emulator's posts/s, both measured in the same run just before.
#   burst    one token's burst with and without push, a 2 s poll: 10 rooms × 2 and 1,500 messages from 4
#            clients; 50 rooms × 4 and 20,000 messages from 16 (this one waits out the token's budget
#            while its 200 subscriptions and doorbells are made: about 10 minutes). Time, HipChat calls,
#            deliveries per call, push over polling.
#   latency  push, a message every 200 ms, a 1-minute poll: post → delivery p50, p99, max and parts.
#   all      the three.
#
# Every run fails unless every delivery arrived exactly once (the sink counts webhook-ids).
#
# usage: scripts/e2e-load.sh [-m MESSAGES] [-e ETCD_MESSAGES] [-E path|dev] [-p PROFILE_DIR] [load|burst|latency|all]
#   -m  messages of the bbolt load run (default 20000)
#   -e  messages of the etcd load runs (default 5000)
#   -E  the etcd of the etcd runs: path (default: the etcd on PATH, else internal/devetcd) or dev
#       (internal/devetcd, the etcd server version of go.mod, even with an etcd on PATH)
#   -p  write CPU profiles of the connectors during each burst into PROFILE_DIR (the connector is then
#       built with -tags loadprofile, which serves /debug/pprof/ on loopback)
# Needs go and bash. Run it from anywhere inside the repository; it takes 5 to 15 minutes a part.
set -euo pipefail

messages=20000 etcd_messages=5000 etcd=path profile=""
while getopts 'm:e:E:p:h' opt; do
	case $opt in
	m) messages=$OPTARG ;;
	e) etcd_messages=$OPTARG ;;
	E) etcd=$OPTARG ;;
	p) profile=$OPTARG ;;
	*) sed -n '2,30p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
what=${1:-load}
for n in "$messages" "$etcd_messages"; do
	if ! [[ $n =~ ^[1-9][0-9]*$ ]]; then
		echo "e2e-load: $n: want a whole number of messages" >&2
		exit 2
	fi
done
if [[ $etcd != path && $etcd != dev ]]; then
	echo "e2e-load: -E $etcd: want path or dev" >&2
	exit 2
fi
case $what in
load) bench='^BenchmarkEndToEndLoad$' ;;
burst) bench='^BenchmarkPushBurst$' ;;
latency) bench='^BenchmarkPushLatency$' ;;
all) bench='^(BenchmarkEndToEndLoad|BenchmarkPushBurst|BenchmarkPushLatency)$' ;;
*) echo "e2e-load: $what: want load, burst, latency or all" >&2; exit 2 ;;
esac
args=(-load.messages "$messages" -load.etcd-messages "$etcd_messages" -load.etcd "$etcd")
if [[ -n $profile ]]; then
	mkdir -p "$profile"
	args+=(-load.profile "$(cd "$profile" && pwd)")
fi

repo=$(cd "$(dirname "$0")/.." && pwd)
echo "e2e-load: $what on $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(go version | cut -d' ' -f3)"
cd "$repo"
# -v prints each run's summary line (t.Logf); the benchmark lines carry the same figures as metrics.
go test -run '^$' -bench "$bench" -benchtime 1x -timeout 120m -v ./cmd/hipchat-connector/ -args "${args[@]}" |
	grep -E '^(Benchmark|--- |ok|FAIL|PASS)|load_(bench|latency)_test\.go:[0-9]+:' |
	sed -E 's/^ +load_(bench|latency)_test\.go:[0-9]+: /  /'
exit "${PIPESTATUS[0]}"
