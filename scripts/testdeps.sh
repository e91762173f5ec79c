#!/usr/bin/env bash
# Installs what `make test` needs beyond Go, when it is missing: socat (the
# pseudo-terminal pairs of the serial-port tests) and mosquitto (the
# external-broker test). As root with apt-get it installs them; otherwise it
# says which tests will skip and how to install them, and goes on.
set -euo pipefail
need=()
command -v socat >/dev/null || need+=(socat)
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
	echo "installing ${need[*]} for the device tests / 为设备测试安装 ${need[*]}"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
	exit 0
fi
echo "missing ${need[*]}: the serial-port or external-broker tests will skip; install with: sudo apt-get install ${need[*]}" >&2
echo "缺少 ${need[*]}：串口或外部代理测试将跳过；安装：sudo apt-get install ${need[*]}" >&2
