#!/bin/bash
# Runs INSIDE the VM (systemd as PID 1, started by systemd.run=; no network device) on a clean
# Debian 12 root that already holds the dependencies apt pulled for the package (make_depsroot.sh:
# dpkg under TCG would need minutes for them): installs the .deb with apt and checks the service
# end to end. One line per check: "PASS: ..." or "FAIL: ...". Writes /job/exitcode.
# Do not call `systemctl is-system-running --wait` here: this job is part of the boot transaction.
exec > /job/output.log 2>&1
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
cd /job
DEB=$(ls /job/pmiprouter_*_all.deb | head -1)
UPG=$(ls /job/upgrade/pmiprouter_*_all.deb | head -1)
CONF=/etc/pmiprouter/startup-config
STATE=/var/lib/pmiprouter
fails=0
now() { cut -d' ' -f1 /proc/uptime; }
pass() { echo "PASS: $* [t=$(now)s]"; }
fail() { echo "FAIL: $* [t=$(now)s]"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
# wait_for SECONDS CMD...: poll (no fixed sleep) until CMD succeeds
wait_for() {
  local end=$(( $(date +%s) + $1 )); shift
  until "$@" >/dev/null 2>&1; do [ "$(date +%s)" -ge "$end" ] && return 1; sleep 0.3; done
}
mainpid() { systemctl show -p MainPID --value pmiprouter; }
journal_has() { journalctl -u pmiprouter --no-pager -o cat ${CURSOR:+--after-cursor="$CURSOR"} | grep -qF -- "$1"; }
cursor() { CURSOR=$(journalctl -u pmiprouter -n 0 --show-cursor --no-pager 2>/dev/null | sed -n 's/^-- cursor: //p'); }
# pbu NAI SEQ [HNP]: one PBU from the MAG namespace; prints "status hnp"
pbu() {
  local step="{\"src\": \"2001:db8:12::1\", \"dst\": \"2001:db8:12::2\", \"nai\": \"$1\", \"seq\": $2${3:+, \"hnps\": [\"$3\"], \"hi\": 5}}"
  ip netns exec mag python3 /job/pbu_once.py "$step" || echo "none -"
}
lma_config() {  # the LMA of the check; $1 adds extra domain lines
  cat <<CFG
! written by the install test
hostname lma1
ipv6 mobile pmipv6-domain D
 mag MAG1
  ipv6-address 2001:db8:12::1
  ipv4-address 192.0.2.1
 nai mn3@example.com
  service ipv6
$1!
ipv6 mobile pmipv6-lma LMA1 domain D
 address ipv6 2001:db8:12::2
 address ipv4 192.0.2.2
 pool ipv6 P prefix 2001:db8:aaaa::/48 pfxlen 64
!
end
CFG
}
T0=$(now)
echo "guest: kernel $(uname -r), systemd $(systemctl --version | head -1 | cut -d' ' -f2), $(. /etc/os-release; echo "$PRETTY_NAME"), t=${T0}s"
# Where a package or its daemon can leave files (all of /usr over 9p under TCG takes minutes).
WATCH="/etc /var/lib /var/log /var/cache /opt /srv /usr/local /usr/bin /usr/sbin /usr/lib/systemd /lib/systemd /usr/share/doc /usr/share/man /usr/share/lintian"
snapshot() {
  { find $WATCH -xdev 2>/dev/null; find /usr/lib/python3/dist-packages -maxdepth 1 2>/dev/null; } \
    | grep -Ev '^/var/lib/(dpkg|apt|systemd|ucf)(/|$)|^/var/(log|cache)/(journal|apt|ldconfig|dpkg)|^/etc/ld\.so\.cache$|/__pycache__(/|$)' | sort -u
}
snapshot > /run/before.txt
echo "snapshot of the file system taken ($(wc -l < /run/before.txt) paths), t=$(now)s"

# --- 1. install: apt-get install ./pmiprouter_*.deb (its postinst enables and starts the unit) ---
T1=$(now)
if apt-get install -y "$DEB" > /job/install.log 2>&1; then pass "apt-get install ./$(basename "$DEB")"; else fail "apt-get install"; tail -30 /job/install.log; fi
T2=$(now)
grep -E 'newly installed|^Setting up pmiprouter' /job/install.log
check "service active after install (Type=notify: READY=1 received)" systemctl is-active --quiet pmiprouter
if ! systemctl is-active --quiet pmiprouter; then   # nothing below can pass: say why and stop
  systemctl status --no-pager pmiprouter | head -15
  journalctl -u pmiprouter --no-pager -o cat | tail -20
  echo "guest result: the service did not start (no READY=1?); stopping here"
  echo 1 > /job/exitcode; sync; exit 1
fi
check "service enabled" systemctl is-enabled --quiet pmiprouter
systemctl show -p Type,ActiveState,SubState,MainPID,NRestarts pmiprouter | tr '\n' ' '; echo
check "journal shows the idle start" journal_has "no role configured, idle"
PID=$(mainpid)
check "capabilities limited to NET_ADMIN, NET_RAW, NET_BIND_SERVICE (CapBnd/CapEff 0x3400)" \
  bash -c "grep -q '^CapBnd:\s*0000000000003400' /proc/$PID/status && grep -q '^CapEff:\s*0000000000003400' /proc/$PID/status"
check "state directory /var/lib/pmiprouter (0700)" test "$(stat -c %a "$STATE" 2>/dev/null)" = 700
check "startup-config is a conffile, mode 0600" bash -c "dpkg-query -W -f='\${Conffiles}' pmiprouter | grep -q ' $CONF ' && test \$(stat -c %a $CONF) = 600"
echo 'show version' | pmiprouter cli --offline "$CONF" > /run/cli.txt 2>/run/cli.err
grep -a 'Version' /run/cli.txt
check "pmiprouter cli --offline answers 'show version'" grep -aq "Version $(dpkg-query -W -f='${Version}' pmiprouter)" /run/cli.txt
check "man page installed" test -f /usr/share/man/man1/pmiprouter.1.gz

# --- 2. a configured LMA opens its sockets ----------------------------------------------------
ip netns add mag
ip link add vl type veth peer name vm netns mag
ip addr add 2001:db8:12::2/64 dev vl nodad; ip addr add 192.0.2.2/24 dev vl; ip link set vl up
ip -n mag addr add 2001:db8:12::1/64 dev vm nodad; ip -n mag addr add 192.0.2.1/24 dev vm
ip -n mag link set vm up; ip -n mag link set lo up
lma_config "" > "$CONF"
check "check-config accepts the LMA config" pmiprouter check-config "$CONF"
cursor
systemctl restart pmiprouter
check "service active with the LMA role" systemctl is-active --quiet pmiprouter
check "journal: LMA LMA1 ready" wait_for 30 journal_has "LMA LMA1 ready"
PID=$(mainpid)
ss -H -a -n -p -w | grep "pid=$PID," ; ss -H -l -n -p -u | grep "pid=$PID,"
check "LMA opened its raw Mobility Header socket (proto 135)" bash -c "ss -H -a -n -p -w | grep 'pid=$PID,' | grep -q ':135 '"
check "LMA listens on UDP 192.0.2.2:5436" bash -c "ss -H -l -n -p -u | grep 'pid=$PID,' | grep -q '192.0.2.2:5436 '"
echo "daemon's TCP listeners (SSH server, when configured): $(ss -H -t -l -n -p | grep "pid=$PID," | awk '{print $4}' | tr '\n' ' ')"
echo "state directory: $(ls "$STATE" | tr '\n' ' ')"
read -r st hnp3 < <(pbu mn3@example.com 1)
check "PBU from the MAG namespace accepted (status ${st:-none}, HNP ${hnp3:-none})" test "${st:-}" = 0
MN3=$(printf %s mn3@example.com | od -An -tx1 | tr -d ' \n')   # the state file keeps MN-IDs in hex
# The snapshot and its journal: a new binding is a journal line first (runtime/state.py).
check "binding saved in $STATE/lma-LMA1.json*" wait_for 10 bash -c "grep -q '$MN3' '$STATE'/lma-LMA1.json*"
check "kernel data plane created an ip6tnl tunnel to the MAG (hardened unit)" \
  wait_for 10 bash -c "ip -d link show type ip6tnl | grep -q 'remote 2001:db8:12::1'"
ip -d link show type ip6tnl | grep -A2 'remote 2001:db8:12::1' | head -3
check "dataplane auto picked the kernel backend inside the unit's sandbox (journal)" journal_has "data plane: kernel"
journalctl -u pmiprouter --no-pager -o cat | grep -E 'data plane:|dataplane probe' | sed 's/^/  journal: /'

# --- 2b. the management plane of the running daemon: control socket, live config, SSH ---------
printf 'show version\n' | pmiprouter cli > /run/cli-live.txt 2>&1
check "pmiprouter cli over the control socket answers 'show version' (running daemon)" \
  grep -aq "Version $(dpkg-query -W -f='${Version}' pmiprouter)" /run/cli-live.txt
check "control socket is root-only (0600)" test "$(stat -c %a /run/pmiprouter/cli.sock 2>/dev/null)" = 600
printf 'configure terminal\nusername admin privilege 15 secret Adm1nPassw0rd\nip ssh port 2222\nend\nwrite memory\n' \
  | pmiprouter cli > /run/cli-conf.txt 2>&1
check "live configuration over the control socket, saved by 'write memory'" grep -q '^username admin privilege 15 secret' "$CONF"
check "SSH server listening on port 2222 once a user exists" wait_for 20 bash -c "ss -H -t -l -n | grep -q ':2222 '"
printf '#!/bin/sh\necho Adm1nPassw0rd\n' > /run/askpass; chmod 700 /run/askpass
SSH_OPTS="-p 2222 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=20"
SSH_ASKPASS=/run/askpass SSH_ASKPASS_REQUIRE=force timeout 60 setsid -w ssh $SSH_OPTS -o PubkeyAuthentication=no \
  admin@127.0.0.1 'show ipv6 mobile pmipv6 lma binding' < /dev/null > /run/ssh-pw.txt 2>&1
check "OpenSSH password login + exec 'show ... lma binding' lists mn3" grep -q 'mn3@example.com' /run/ssh-pw.txt
mkdir -p /root/.ssh && ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_ed25519
KEYHASH=$(ssh-keygen -E md5 -lf /root/.ssh/id_ed25519.pub | awk '{print $2}' | sed 's/^MD5://; s/://g' | tr a-f A-F)
printf 'configure terminal\nip ssh pubkey-chain\n username admin\n  key-hash ssh-ed25519 %s root@vm\n  exit\n exit\nend\n' "$KEYHASH" \
  | pmiprouter cli > /run/cli-key.txt 2>&1
check "ip ssh pubkey-chain key-hash (as Ansible ios_user sends it) in the running config" \
  bash -c "printf 'show running-config | include key-hash\n' | pmiprouter cli | grep -q '$KEYHASH'"
timeout 60 ssh $SSH_OPTS -o BatchMode=yes -o PasswordAuthentication=no admin@127.0.0.1 'show version' < /dev/null > /run/ssh-key.txt 2>&1
check "OpenSSH public-key login + exec 'show version'" grep -aq "Version $(dpkg-query -W -f='${Version}' pmiprouter)" /run/ssh-key.txt
check "SSH host keys generated and kept in $STATE/ssh (0600)" \
  bash -c "ls $STATE/ssh/*host* >/dev/null 2>&1 && ! find $STATE/ssh -maxdepth 1 -name '*host*' ! -perm 600 | grep -q ."
check "autopkgtest debian/tests/smoke passes on the installed package" bash /job/smoke

# --- 3. systemctl reload re-reads the config (SIGHUP, same process) ---------------------------
read -r st _ < <(pbu mn9@example.com 1)
check "unknown MN refused before the reload (status ${st:-none})" test "${st:-0}" != 0
lma_config " nai mn9@example.com
  service ipv6
 nai mn10@example.com
  service ipv6
" > "$CONF"
cursor
systemctl reload pmiprouter
check "journal: configuration reloaded" wait_for 30 journal_has "configuration $CONF reloaded"
check "reload kept the same process" test "$(mainpid)" = "$PID"
read -r st hnp9 < <(pbu mn9@example.com 2)
check "MN added by the reload accepted (status ${st:-none}, HNP ${hnp9:-none})" test "${st:-}" = 0
cp "$CONF" /run/good-config
sed -i '1i this is not a command' "$CONF"     # (after `end` it would be ignored, as on IOS)
cursor
systemctl reload pmiprouter
check "a broken config is refused on reload" wait_for 30 journal_has "refused: the running configuration is unchanged"
check "service still active after the refused reload" systemctl is-active --quiet pmiprouter
cp /run/good-config "$CONF"

# --- 4. the unit's sandbox lets the daemon's kernel work through -------------------------------
# A oneshot unit with the installed unit's sandbox lines (CapabilityBoundingSet= .. [Install]).
# (systemd-run would need D-Bus, which a minimal Debian does not have.)
{ echo '[Service]'; echo 'Type=oneshot'; echo 'ExecStart=/usr/bin/python3 /job/hardening_probe.py'
  echo 'StandardOutput=file:/run/probe.txt'; echo 'StandardError=file:/run/probe.txt'
  sed -n '/^CapabilityBoundingSet=/,/^\[Install\]/p' /lib/systemd/system/pmiprouter.service | grep -E '^[A-Za-z]+='
} > /run/systemd/system/pmiprouter-sandbox-probe.service
systemctl daemon-reload
NPROPS=$(grep -cE '^[A-Za-z]+=' /run/systemd/system/pmiprouter-sandbox-probe.service)
if systemctl start pmiprouter-sandbox-probe.service; then
  pass "sandbox of the unit ($((NPROPS - 4)) settings): netlink tunnels, /proc/sys/net, raw MH, TUN, port < 1024, state dir"
else
  fail "sandbox probe under the unit's settings"
fi
rm -f /run/systemd/system/pmiprouter-sandbox-probe.service; systemctl daemon-reload
sed 's/^/  probe: /' /run/probe.txt

# --- 5. upgrade keeps the config and the bindings ---------------------------------------------
md5sum "$CONF" > /run/conf.md5
T3=$(now)
if apt-get install -y "$UPG" > /job/upgrade.log 2>&1; then pass "upgrade to $(dpkg-deb -f "$UPG" Version)"; else fail "upgrade"; tail -30 /job/upgrade.log; fi
grep -iE 'configuration file|conffile' /job/upgrade.log && fail "dpkg asked about a conffile during the upgrade"
check "service active after the upgrade" systemctl is-active --quiet pmiprouter
check "upgrade restarted the daemon (new process)" test "$(mainpid)" != "$PID"
check "config kept across the upgrade" md5sum -c --quiet /run/conf.md5
check "bindings kept in $STATE across the upgrade (the new daemon's snapshot)" grep -q "$MN3" "$STATE/lma-LMA1.json"
check "journal: LMA ready after the upgrade" wait_for 30 bash -c "journalctl -u pmiprouter -o cat --no-pager | grep -c 'LMA LMA1 ready' | grep -qv '^1$'"
# Without the restored bindings the pool would hand mn3's or mn9's prefix out again.
read -r st hnp10 < <(pbu mn10@example.com 1)
check "bindings restored: a new MN gets a fresh prefix (status ${st:-none}, $hnp10; mn3 $hnp3, mn9 $hnp9)" \
  test "${st:-}" = 0 -a "$hnp10" != "$hnp3" -a "$hnp10" != "$hnp9"
read -r st hnp9b < <(pbu mn9@example.com 3 "$hnp9")
check "renewal of a binding made before the upgrade keeps its HNP ($hnp9b)" test "${st:-}" = 0 -a "$hnp9b" = "$hnp9"
T4=$(now)

# --- 6. purge leaves nothing behind -----------------------------------------------------------
journalctl -u pmiprouter --no-pager -o short-monotonic | tail -12 | sed 's/^/  journal: /'
if dpkg --purge pmiprouter > /job/purge.log 2>&1; then pass "dpkg --purge pmiprouter"; else fail "dpkg --purge"; cat /job/purge.log; fi
check "package gone from dpkg's database" bash -c "! dpkg-query -W -f='\${Status}' pmiprouter 2>/dev/null | grep -q installed"
check "no pmiprouter process left" bash -c '! grep -qx pmiprouter /proc/[0-9]*/comm 2>/dev/null'
check "unit gone (not loaded, not enabled)" bash -c "! systemctl cat pmiprouter.service >/dev/null 2>&1 && ! ls /etc/systemd/system/*.wants/pmiprouter.service >/dev/null 2>&1"
check "no tunnel left by the daemon" bash -c "! ip -d link show type ip6tnl | grep -q 'remote 2001:db8:12::1'"
LEFT=$({ find $WATCH /run /tmp -xdev -name '*pmiprouter*' 2>/dev/null; find /usr/lib/python3/dist-packages -maxdepth 1 -name '*pmiprouter*'; } \
       | grep -v '^/var/lib/dpkg/\|^/run/systemd/\|^/run/log/' || true)
check "no file named *pmiprouter* left (etc, var, bin, doc, man, systemd, dist-packages, run, tmp)" test -z "$LEFT"
[ -n "$LEFT" ] && echo "$LEFT" | sed 's/^/  left: /'
check "/etc/pmiprouter, /etc/default/pmiprouter and /var/lib/pmiprouter removed" \
  bash -c "! test -e /etc/pmiprouter && ! test -e /etc/default/pmiprouter && ! test -e $STATE"
# Everything else the install added must belong to a package still installed (the dependencies).
snapshot > /run/after.txt
comm -13 /run/before.txt /run/after.txt > /run/added.txt
: > /run/orphans.txt
while read -r f; do dpkg -S "$f" >/dev/null 2>&1 || echo "$f" >> /run/orphans.txt; done < /run/added.txt
echo "after purge: $(wc -l < /run/added.txt) paths added since the snapshot, $(wc -l < /run/orphans.txt) of them owned by no package"
sed 's/^/  unowned: /' /run/orphans.txt
check "nothing unowned left by pmiprouter (paths outside any installed package)" \
  bash -c "! grep -qi pmip /run/orphans.txt"
T5=$(now)

awk -v t0="$T0" -v t1="$T1" -v t2="$T2" -v t3="$T3" -v t4="$T4" -v t5="$T5" 'BEGIN {
  printf "guest timings: apt install %.1f s, checks %.1f s, upgrade+checks %.1f s, purge+checks %.1f s, whole job %.1f s\n",
         t2 - t1, t3 - t2, t4 - t3, t5 - t4, t5 - t0 }'
ip netns del mag 2>/dev/null
echo "guest result: $fails failed check(s)"
rc=$(( fails > 0 ? 1 : 0 ))
echo "$rc" > /job/exitcode; sync
exit "$rc"
