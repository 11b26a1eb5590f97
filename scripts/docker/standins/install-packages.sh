#!/bin/sh
# Installs Debian packages into a stand-in image: no daemon started by a package script while the
# image builds, no apt lists left in the layer. Usage: install-packages PACKAGE...
set -eu
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d
