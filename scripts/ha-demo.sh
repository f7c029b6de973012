#!/usr/bin/env bash
# ha-demo.sh: three connector replicas on a three-member etcd cluster, all on 127.0.0.1.
#
# It builds the binary, starts etcd (the `etcd` on PATH, e.g. Debian's etcd-server, or else three
# embedded members in one process: go run ./internal/devetcd), the HipChat emulator, a callback sink
# (internal/devsink), a round-robin load balancer (internal/devlb) and three replicas behind it
# (serve -etcd-endpoints … -public-url LB), so HipChat's room webhooks (push) reach any replica. Once
# the replicas see each other, it subscribes the sink through the first replica to rooms, each with a
# token of its own, until every replica owns a feed (three rooms at least), printing what it waits
# for every 2 s; then it posts a message every second, prints each delivery as it arrives, kill -9s the replica owning the most feeds a third of the way in, shows
# the others take its feeds (hipchat_connector_cluster_feeds_owned), and ends with a summary of the
# deliveries and the doorbells. Exit 0 only when every message posted was delivered (unique by
# message id).
#
# usage: scripts/ha-demo.sh [-d SECONDS]   (or HA_DEMO_DURATION; default 40: posting, then 10 s to drain)
#        HA_DEMO_EMBEDDED_ETCD=1 uses the embedded members even when etcd is on PATH.
# Needs go, curl and bash. Run it from anywhere inside the repository.
set -euo pipefail

duration=${HA_DEMO_DURATION:-40}
while getopts 'd:h' opt; do
	case $opt in
	d) duration=$OPTARG ;;
	*) sed -n '2,16p' "$0"; exit 2 ;;
	esac
done
if ! [[ $duration =~ ^[0-9]+$ ]] || ((duration < 20)); then
	echo "ha-demo: -d $duration: want whole seconds, at least 20" >&2
	exit 2
fi
drain=10
max_rooms=24 # rooms (each with its own token) the demo subscribes at most to spread the feeds

repo=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/ha-demo.XXXXXX")
pids=()
# cleanup stops the children newest first (the replicas before the etcd they revoke their leases
# in, so that none waits on a dead etcd) and removes the directory.
cleanup() {
	local i
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill "${pids[i]}" 2>/dev/null || true
		wait "${pids[i]}" 2>/dev/null || true
	done
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { echo "ha-demo: $*" >&2; exit 1; }

# wait_for FILE PATTERN WHAT: wait up to 30 s for a line matching PATTERN in FILE, print its match.
wait_for() {
	local i
	for ((i = 0; i < 300; i++)); do
		if grep -m1 -o "$2" "$1" 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	die "$3 did not start; its output: $(cat "$1" "$1.err" 2>/dev/null | tail -n 20)"
}

# free_port NAME sets NAME to a loopback port nothing listens on and no earlier call gave (for
# the etcd binary, which cannot take :0). It picks below the kernel's ephemeral range, so that a connection
# some other program opens meanwhile cannot take the port before etcd binds it.
picked=" "
free_port() {
	local p low=32768
	read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
	while :; do
		p=$((10000 + RANDOM % (low - 10000)))
		[[ $picked == *" $p "* ]] && continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			picked+="$p "
			printf -v "$1" %s "$p"
			return
		fi
	done
}

say "building into $dir"
(cd "$repo" && go build -o "$dir/hipchat-connector" ./cmd/hipchat-connector &&
	go build -o "$dir/devsink" ./internal/devsink && go build -o "$dir/devlb" ./internal/devlb)
bin=$dir/hipchat-connector

# etcd: three members.
if command -v etcd >/dev/null && [[ -z ${HA_DEMO_EMBEDDED_ETCD:-} ]]; then
	cluster="" endpoints=""
	declare -a cport pport
	for i in 1 2 3; do
		free_port "cport[$i]"
		free_port "pport[$i]"
		cluster+="${cluster:+,}m$i=http://127.0.0.1:${pport[i]}"
		endpoints+="${endpoints:+,}http://127.0.0.1:${cport[i]}"
	done
	for i in 1 2 3; do
		etcd --name "m$i" --data-dir "$dir/etcd-m$i" \
			--listen-client-urls "http://127.0.0.1:${cport[i]}" --advertise-client-urls "http://127.0.0.1:${cport[i]}" \
			--listen-peer-urls "http://127.0.0.1:${pport[i]}" --initial-advertise-peer-urls "http://127.0.0.1:${pport[i]}" \
			--initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token ha-demo \
			>"$dir/etcd-m$i.log" 2>&1 &
		pids+=($!)
	done
	for i in 1 2 3; do
		for ((t = 0; t < 300; t++)); do
			curl -fsS "http://127.0.0.1:${cport[i]}/health" 2>/dev/null | grep -q '"true"' && break
			sleep 0.1
		done
		((t < 300)) || die "etcd member m$i not healthy: $(tail -n 5 "$dir/etcd-m$i.log")"
	done
	say "etcd: 3 members of $(etcd --version | sed -n 's/^etcd Version: /etcd /p') from PATH at $endpoints"
else
	(cd "$repo" && go build -o "$dir/devetcd" ./internal/devetcd)
	"$dir/devetcd" -members 3 -dir "$dir/etcd" >"$dir/etcd.out" 2>"$dir/etcd.out.err" &
	pids+=($!)
	endpoints=$(wait_for "$dir/etcd.out" 'http[^ ]*' "embedded etcd")
	say "etcd: 3 embedded members (internal/devetcd) at $endpoints"
fi

# The emulator, with one user and token per room, no rate limit and no flood control. A
# connection's feeds are owned together by one replica, so each room has its own token for the
# feeds to spread.
users=""
for ((k = 1; k <= max_rooms; k++)); do
	users+="${users:+,}{\"name\":\"HA Poster $k\",\"email\":\"poster$k@example.com\",\"mention_name\":\"poster$k\",\"tokens\":[{\"token\":\"ha-demo-poster-token-$k\"}]}"
done
echo "{\"users\":[$users]}" >"$dir/fixtures.json"
"$bin" sim -addr 127.0.0.1:0 -fixtures "$dir/fixtures.json" -user-rate-limit 0 -flood-limit 0 \
	>"$dir/sim.out" 2>"$dir/sim.out.err" &
pids+=($!)
sim=$(wait_for "$dir/sim.out" 'http://[0-9.:]*' "the emulator")
say "emulator (sim) at $sim"

: >"$dir/secrets"
"$dir/devsink" -secrets "$dir/secrets" >"$dir/sink.out" 2>"$dir/sink.out.err" &
pids+=($!)
sink=$(wait_for "$dir/sink.out" 'http://[0-9.:]*' "the sink")
say "sink (internal/devsink) at $sink"

# The load balancer: every replica's -public-url, so the room webhooks HipChat calls reach any
# replica (one that does not own the feed passes the doorbell to its owner through etcd). Each
# replica is added to its backends file once it is ready.
: >"$dir/backends"
"$dir/devlb" -backends "$dir/backends" >"$dir/lb.out" 2>"$dir/lb.out.err" &
pids+=($!)
lb=$(wait_for "$dir/lb.out" 'http://[0-9.:]*' "the load balancer")
say "load balancer (internal/devlb) at $lb: every replica's -public-url"

# Replicas share the sealing key (HIPCHAT_CONNECTOR_KEY) and the etcd prefix.
HIPCHAT_CONNECTOR_KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
export HIPCHAT_CONNECTOR_KEY
declare -a url rpid
start_replica() {
	local i=$1 t
	"$bin" serve -addr 127.0.0.1:0 -hipchat-url "$sim" -etcd-endpoints "$endpoints" -etcd-prefix /ha-demo/ \
		-etcd-lease-ttl 2s -poll-schedule '@every 1s' -public-url "$lb" -allow-private-callbacks \
		>"$dir/r$i.out" 2>"$dir/r$i.log" &
	rpid[i]=$!
	pids+=($!)
	url[i]=$(wait_for "$dir/r$i.out" 'http://[0-9.:]*' "replica r$i")
	for ((t = 0; t < 300; t++)); do
		curl -fsS "${url[i]}/readyz" >/dev/null 2>&1 && break
		sleep 0.1
	done
	((t < 300)) || die "replica r$i not ready: $(tail -n 5 "$dir/r$i.log")"
	echo "${url[i]}" >>"$dir/backends"
	say "replica r$i at ${url[i]}: /readyz 200 (pid ${rpid[i]}), behind the load balancer"
}

# metric RI SERIES prints replica RI's value of SERIES (a metric name with its labels, as /metrics
# writes it), "-" when the replica does not answer or has no such series.
metric() {
	local page
	page=$(curl -fsS --max-time 2 "${url[$1]}/metrics" 2>/dev/null) || page=""
	awk -v s="$2" '$1 == s { printf "%d\n", $2; found = 1 } END { if (!found) print "-" }' <<<"$page"
}
# feeds RI prints replica RI's hipchat_connector_cluster_feeds_owned, "-" when it does not answer.
feeds() { metric "$1" hipchat_connector_cluster_feeds_owned; }
# sum SERIES adds SERIES over the replicas that answer.
sum() {
	local i n total=0
	for i in 1 2 3; do
		n=$(metric $i "$1")
		[[ $n == - ]] || total=$((total + n))
	done
	echo $total
}
owned_line() { echo "feeds owned (hipchat_connector_cluster_feeds_owned): r1=$(feeds 1) r2=$(feeds 2) r3=$(feeds 3)"; }

# wait_until SECONDS WHAT CHECK: run CHECK (a function that returns 0 when done and sets $progress)
# about every half second until it succeeds or SECONDS pass, printing $progress when it changes and
# at least every 2 s, so that a slow start is visible; dies saying WHAT when time is up.
wait_until() {
	local limit=$1 what=$2 check=$3 started=$SECONDS last_shown="" shown_at=$SECONDS
	progress=""
	while ! $check; do
		if ((SECONDS - started >= limit)); then
			die "$what: still not so after ${limit}s ($progress)"
		fi
		if [[ $progress != "$last_shown" ]] || ((SECONDS - shown_at >= 2)); then
			say "waiting for $what: $progress"
			last_shown=$progress shown_at=$SECONDS
		fi
		sleep 0.5
	done
}

# members_seen: every replica sees all three (hipchat_connector_cluster_members), so that they agree
# on who owns what before anything is subscribed.
members_seen() {
	local i n ok=0
	progress=""
	for i in 1 2 3; do
		n=$(metric $i hipchat_connector_cluster_members)
		progress+="${progress:+, }r$i sees $n"
		[[ $n == 3 ]] || ok=1
	done
	return $ok
}

# feeds_settled: the replicas own $subscribed feeds between them, each once.
feeds_settled() {
	local i n total=0
	for i in 1 2 3; do
		n=$(feeds $i)
		[[ $n == - ]] || total=$((total + n))
	done
	progress="$(owned_line)"
	((total == subscribed))
}

# spread: every replica owns a feed.
spread() {
	local i n
	for i in 1 2 3; do
		n=$(feeds $i)
		[[ $n != - ]] && ((n > 0)) || return 1
	done
}

start_replica 1
start_replica 2
start_replica 3
wait_until 30 "the replicas to see each other" members_seen
say "members (hipchat_connector_cluster_members): $progress"

# A connection's feeds are owned together, by the replica rendezvous hashing gives the connection,
# so each room has a token of its own; with three, all of them land on one replica one time in nine
# and some replica owns none two times in three. So rooms are subscribed one at a time (through r1:
# each replica hears of subscriptions made elsewhere through etcd's watch) until each replica owns
# a feed, from three rooms up to max_rooms.
auth_of() { echo "Authorization: Bearer ha-demo-poster-token-$1"; }
json="Content-Type: application/json"
declare -a room
subscribed=0
while ((subscribed < max_rooms)) && { ((subscribed < 3)) || ! spread; }; do
	k=$((subscribed + 1))
	room[k]=$(curl -fsS -H "$(auth_of "$k")" -H "$json" -X POST "$sim/v2/room" -d "{\"name\":\"HA $k\"}" |
		sed -n 's/.*"id": *\([0-9]*\).*/\1/p')
	answer=$(curl -fsS -H "$(auth_of "$k")" -H "$json" -X POST "${url[1]}/subscriptions/rooms/${room[k]}/messages" \
		-d "{\"callbackUrl\":\"$sink/hook\"}")
	sub=$(grep -o '"id": *"[^"]*"' <<<"$answer" | head -n1 | sed 's/.*"\([^"]*\)"$/\1/')
	secret=$(grep -o '"secret": *"[^"]*"' <<<"$answer" | sed 's/.*"\([^"]*\)"$/\1/')
	[[ -n $sub && -n $secret ]] || die "subscribing room ${room[k]}: $answer"
	echo "$sub $secret" >>"$dir/secrets"
	subscribed=$k
	say "room \"HA $k\" (id ${room[k]}, its own token): subscription $sub through r1"
	wait_until 30 "its feed to have one owner" feeds_settled
	say "$(owned_line)"
done
rooms=$subscribed
if spread; then
	say "spread over the three replicas with $rooms rooms"
else
	say "not spread over all three after $rooms rooms (rendezvous hashing); going on"
fi

# Post for duration-drain seconds, one message a second in turn in each room; kill -9 the replica
# owning the most feeds a third of the way in; then wait up to drain seconds for the last deliveries.
: >"$dir/posted"
shown=0
show_deliveries() {
	local lines
	lines=$(wc -l <"$dir/sink.out")
	if ((lines > shown)); then
		sed -n "$((shown + 1)),${lines}p" "$dir/sink.out" | grep '^delivered' |
			sed 's/^delivered \([0-9:]*\) item=\([^ ]*\) .*message=\(.*\)$/\1  delivered \3 (message \2)/' || true
		shown=$lines
	fi
}
delivered_all() {
	local want
	want=$(sort -u "$dir/posted" | wc -l)
	[[ $(missing | wc -l) -eq 0 && $want -gt 0 ]]
}
missing() {
	sed -n 's/^delivered [0-9:]* item=\([^ ]*\) .*/\1/p' "$dir/sink.out" | sort -u >"$dir/got"
	sort -u "$dir/posted" | comm -23 - "$dir/got"
}

start=$SECONDS
post_for=$((duration - drain))
kill_at=$((post_for / 3))
victim=""
seq=0
while ((SECONDS - start < post_for)); do
	seq=$((seq + 1))
	k=$(((seq - 1) % rooms + 1))
	text="message $seq in HA $k"
	show_deliveries
	id=$(curl -fsS -H "$(auth_of "$k")" -H "$json" -X POST "$sim/v2/room/${room[k]}/message" -d "{\"message\":\"$text\"}" |
		sed -n 's/.*"id": *"\([^"]*\)".*/\1/p')
	[[ -n $id ]] || die "posting $text failed"
	echo "$id" >>"$dir/posted"
	say "posted \"$text\""
	if [[ -z $victim ]] && ((SECONDS - start >= kill_at)); then
		victim=1 most=-1
		for i in 1 2 3; do
			n=$(feeds $i)
			if [[ $n != - ]] && ((n > most)); then victim=$i most=$n; fi
		done
		say "before: $(owned_line)"
		kill -9 "${rpid[victim]}"
		wait "${rpid[victim]}" 2>/dev/null || true
		killed_at=$SECONDS
		say "kill -9 replica r$victim (pid ${rpid[victim]}, owning $most feeds); its lease expires within 2s"
	fi
	if [[ -n $victim && -n ${killed_at:-} ]] && ((SECONDS - killed_at >= 4)); then
		say "after:  $(owned_line)"
		killed_at=""
	fi
	sleep 1
done
say "posting stopped; waiting up to ${drain}s for the last deliveries"
for ((t = 0; t < drain * 10; t++)); do
	delivered_all && break
	sleep 0.1
	if ((t % 10 == 0)); then show_deliveries; fi
done
show_deliveries
say "end:    $(owned_line)"

say "push feeds (hipchat_connector_push_feeds) on the live replicas: trusted=$(sum 'hipchat_connector_push_feeds{state="trusted"}') on=$(sum 'hipchat_connector_push_feeds{state="on"}') pending=$(sum 'hipchat_connector_push_feeds{state="pending"}') off=$(sum 'hipchat_connector_push_feeds{state="off"}')"
doorbells=$(sum 'hipchat_connector_push_doorbells_total{result="accepted"}')
forwarded=$(sum hipchat_connector_cluster_doorbells_forwarded_total)

posted=$(sort -u "$dir/posted" | wc -l)
lost=$(missing | wc -l)
requests=$(grep -c '^delivered' "$dir/sink.out" || true)
echo "summary: $posted messages posted, $((posted - lost)) delivered (unique by message id; $requests deliveries in all), $lost missing; replica r$victim was killed"
echo "doorbells (room webhooks through the load balancer), counted by the live replicas: $doorbells rung at the feed's owner (hipchat_connector_push_doorbells_total), $forwarded received for a feed another replica owns and passed on through etcd (hipchat_connector_cluster_doorbells_forwarded_total)"
if ((lost > 0)); then
	echo "missing message ids:" >&2
	missing >&2
	exit 1
fi
