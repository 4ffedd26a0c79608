#!/bin/sh
# mailoauth's Debian prerm: stop the services before their binary goes.
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
	for u in $(systemctl list-unit-files --no-legend 'mailoauth-*.service' 2>/dev/null | cut -d' ' -f1); do
		systemctl stop "$u" || true
	done
fi
exit 0
