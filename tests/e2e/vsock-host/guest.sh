# vsock-host guest job: the host is CID 2, reached through vhost-user-vsock.
# SIZE comes from /etc/vsock-host.env.
. /etc/vsock-host.env
n=0; bad=0
t() { # status description
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; bad=1; fi
}
now() { cut -d' ' -f1 /proc/uptime; }
rate() { awk -v b="$1" -v s="$2" -v e="$3" 'BEGIN { d = e - s; if (d <= 0) d = 0.01; printf "%.2f", b / d / 1e6 }'; }

head -c "$SIZE" /dev/urandom >/tmp/up
upsum=$(sha256sum </tmp/up | cut -d' ' -f1)

# guest -> host, bulk: the host answers the SHA-256 of what it read
s=$(now)
timeout 120 socat -t 60 -b 65536 - VSOCK-CONNECT:2:5001 </tmp/up >/tmp/upsum
e=$(now)
t "$([ "$(cat /tmp/upsum)" = "$upsum" ] && echo 0 || echo 1)" \
	"guest -> host $SIZE bytes arrive intact (host sha $(cut -c1-12 /tmp/upsum))"
echo "# throughput guest->host: $(rate "$SIZE" "$s" "$e") MB/s"

# host -> guest, bulk: a SHA-256 line, then the data
s=$(now)
timeout 120 socat -u -b 65536 VSOCK-CONNECT:2:5002 - >/tmp/down
e=$(now)
want=$(head -n1 /tmp/down)
got=$(tail -c +66 /tmp/down | sha256sum | cut -d' ' -f1)
t "$([ -n "$want" ] && [ "$want" = "$got" ] && [ "$(( $(wc -c </tmp/down) - 65 ))" = "$SIZE" ] && echo 0 || echo 1)" \
	"host -> guest $SIZE bytes arrive intact"
echo "# throughput host->guest: $(rate "$SIZE" "$s" "$e") MB/s"

# both at once through the host's echo server
s=$(now)
timeout 120 socat -t 60 -b 65536 - VSOCK-CONNECT:2:5003 </tmp/up >/tmp/echo
e=$(now)
t "$(cmp -s /tmp/up /tmp/echo && echo 0 || echo 1)" "round trip through a host echo server, $SIZE bytes each way"
echo "# throughput echo (both directions counted): $(rate "$((2 * SIZE))" "$s" "$e") MB/s"

# a host port nobody listens on: refused, not hung
timeout 20 socat -u /dev/null VSOCK-CONNECT:2:5999 2>/tmp/err
rc=$?
t "$([ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -qi 'refused\|reset' /tmp/err && echo 0 || echo 1)" \
	"connecting to a host port with no listener is refused ($(head -c 80 /tmp/err))"

# host -> guest connection by CONNECT <port> on the base socket
socat VSOCK-LISTEN:6000,reuseaddr EXEC:cat &
lp=$!
sleep 1
echo "VEIL-HOST connect"
kill $lp 2>/dev/null
wait $lp 2>/dev/null
echo "# host -> guest CONNECT: see the host's verdict"

# a guest listener port nobody listens on: the host client is closed
echo "VEIL-HOST connect-none"
exit $bad
