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

# a host port nobody listens on: refused, not hung
timeout 20 socat -u /dev/null VSOCK-CONNECT:2:5999 2>/tmp/err
rc=$?
t "$([ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -qi 'refused\|reset' /tmp/err && echo 0 || echo 1)" \
	"connecting to a host port with no listener is refused ($(head -c 80 /tmp/err))"

# host -> guest connection by CONNECT <port> on the base socket: an echo
# listener for one connection, which ends when the host client is done
timeout 150 socat VSOCK-LISTEN:6000 EXEC:cat &
lp=$!
echo "VEIL-HOST connect"
wait $lp
echo "# host -> guest CONNECT: listener exited $? (the host judges the data)"

# a guest listener port nobody listens on: the host client is closed
echo "VEIL-HOST connect-none"
sleep 2	# the guest stays up while the host client hears the refusal

# 9P from veil-fsd on the host (read-only tenant)
modprobe 9pnet_vsock
mkdir -p /mnt/t
timeout 60 mount -t 9p -o trans=vsock,port=564,version=9p2000.L,msize=1048576,cache=none 2 /mnt/t
t $? "mount -t 9p trans=vsock from veil-fsd on the host"
t "$([ "$(cat /mnt/t/hello 2>&1)" = "tenant of cid 3" ] && echo 0 || echo 1)" \
	"reads the tenant's file ($(head -c 60 /mnt/t/hello 2>&1))"
s=$(now)
got=$(timeout 120 dd if=/mnt/t/big bs=1M 2>/dev/null | sha256sum | cut -d' ' -f1)
e=$(now)
t "$([ "$got" = "$FSUM" ] && echo 0 || echo 1)" "reads $SIZE bytes intact over 9P"
echo "# throughput 9P read, 1 MiB reads (veil-fsd, msize 1M, cache=none): $(rate "$SIZE" "$s" "$e") MB/s"
s=$(now)
timeout 120 dd if=/mnt/t/big of=/dev/null bs=4k count=256 2>/dev/null
e=$(now)
echo "# 9P round trip, 256 reads of 4 KiB: $(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.2f", (e - s) * 1000 / 256 }') ms per read"
echo x 2>/tmp/err >/mnt/t/new
t "$([ $? != 0 ] && [ ! -e /mnt/t/new ] && echo 0 || echo 1)" "access = ro: a create fails ($(head -c 60 /tmp/err))"
umount /mnt/t
t $? "umount"
exit $bad
