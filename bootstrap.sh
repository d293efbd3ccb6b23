#!/usr/bin/env bash
# One command to set up a fresh Debian machine and do the main job or the tests:
#   ./bootstrap.sh demo   install, bring the lab up, run the shipped scenarios, take it down
#   ./bootstrap.sh test   install, run the test suite (lab tests included; needs root)
#   ./bootstrap.sh setup  install only
# Installing is idempotent: Debian packages (apt) and a virtualenv in .venv (pip).
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES=(openssh-server openssh-client haproxy keepalived ipmitool iproute2 iptables
              nftables iputils-ping fping procps psmisc python3-venv chromium
              openssl  # the lab nodes' root password hash (sshd.py)
              mariadb-server galera-4 rsync memcached rabbitmq-server
              podman crun  # discovery's container way, proven with real containers
              prometheus prometheus-pushgateway  # the OpenMetrics tests' real scraper
              qemu-system-x86 busybox-static kmod  # these three: netem tests' guest kernel
              systemd  # PID 1 of the systemd guest (discovery's systemd way, for real)
              pacemaker corosync pacemaker-cli-utils resource-agents pcs)  # lab --style pacemaker
VENV=${HA_TESTS_VENV:-.venv}
PYTHON=${PYTHON:-python3}

say() { printf '\n==> %s\n' "$*" >&2; }

install_system() {
    local missing=()
    for pkg in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$pkg")
    done
    if ((${#missing[@]})); then
        say "installing Debian packages: ${missing[*]}"
        if [ "$(id -u)" != 0 ]; then echo "need root for apt-get (run with sudo)" >&2; exit 2; fi
        apt-get update -qq
        # The lab runs its own MariaDB, memcached and RabbitMQ inside its nodes: the packages' own
        # services must not start on the host (a policy-rc.d only while installing).
        local policy=/usr/sbin/policy-rc.d own_policy=
        if [ ! -e "$policy" ]; then
            printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"; own_policy=1
        fi
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null
        if [ -n "$own_policy" ]; then rm -f "$policy"; fi
    fi
}

install_python() {
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating virtualenv $VENV"
        "$PYTHON" -m venv "$VENV"
    fi
    local stamp="$VENV/.ha-tests-installed"
    if [ ! -f "$stamp" ] || [ setup.cfg -nt "$stamp" ]; then
        say "installing Python packages into $VENV (a minute or two the first time)"
        "$VENV/bin/pip" install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
        "$VENV/bin/pip" install -q -e '.[lab,tempest,test]' > "$VENV/pip-install.log" 2>&1 \
            || { tail -30 "$VENV/pip-install.log" >&2; echo "pip install failed" >&2; exit 2; }
        "$VENV/bin/python" -c 'import ha_tests, keystone, tempest, pyghmi' \
            || { echo "Python install failed" >&2; exit 2; }
        touch "$stamp"
    fi
}

# Debian's own kernel for the tests' small QEMU guest (where this kernel lacks sch_netem);
# fetched here so that the tests never reach beyond this machine.
fetch_guest_kernel() {
    local cache=${HA_TESTS_GUEST_KERNEL_CACHE:-/var/cache/ha-tests/guest-kernel}
    # a whole fetch only: one stopped part-way is redone (the fetch is atomic)
    HA_TESTS_GUEST_KERNEL_CACHE=$cache "$VENV/bin/python" tests/attackers/kernel_guest.py check \
        && return 0
    say "fetching Debian's kernel package for the tests' guest (about 70 MB, once)"
    HA_TESTS_GUEST_KERNEL_CACHE=$cache "$VENV/bin/python" tests/attackers/kernel_guest.py fetch \
        >/dev/null
}

case "${1:-}" in
    setup) install_system; install_python; fetch_guest_kernel ;;
    demo)  install_system; install_python; shift; exec "$VENV/bin/ha-tests" demo "$@" ;;
    test)  install_system; install_python; fetch_guest_kernel; shift
           # HA_TESTS_TEST_WORKERS=2: the full lab's tests on one xdist worker, the session
           # lab's on the other, the rest wherever there is room (tests/conftest.py,
           # GROUP_FILES); one process unless asked
           workers=()
           [ "${HA_TESTS_TEST_WORKERS:-1}" -gt 1 ] && \
               workers=(-n "$HA_TESTS_TEST_WORKERS" --no-loadscope-reorder)
           exec "$VENV/bin/python" -m pytest -p no:cacheprovider -q --durations=30 \
               "${workers[@]}" tests "$@" ;;
    *) echo "usage: $0 demo|test|setup" >&2; exit 2 ;;
esac
