#!/usr/bin/env bash
# Installs what `make test` needs beyond Go, when it is missing: socat (the
# pseudo-terminal pairs of the serial-port tests) and mosquitto (the
# external-broker test). As root with apt-get it installs them; otherwise,
# or if installing fails, it says which tests will skip and how to install
# them, and goes on. With TESTDEPS_REQUIRED=1 (CI) a missing tool is an
# error instead: CI must not skip those tests.
set -uo pipefail
missing() {
	local m=()
	command -v socat >/dev/null || m+=(socat)
	command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || m+=(mosquitto)
	echo "${m[@]}"
}
need=$(missing)
[ -z "$need" ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
	echo "installing $need for the device tests / 为设备测试安装 $need"
	# shellcheck disable=SC2086 # one word per package
	if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need; then
		need=$(missing)
		[ -z "$need" ] && exit 0
	fi
fi
if [ "${TESTDEPS_REQUIRED:-}" = 1 ]; then
	echo "missing $need, which the device tests need; install with: apt-get install $need" >&2
	echo "缺少设备测试所需的 $need；安装：apt-get install $need" >&2
	exit 1
fi
echo "missing $need: the serial-port or external-broker tests will skip; install with: sudo apt-get install $need" >&2
echo "缺少 $need：串口或外部代理测试将跳过；安装：sudo apt-get install $need" >&2
