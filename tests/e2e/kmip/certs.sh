#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# certs.sh DIR: a throw-away PKI for the KMIP tests, made with openssl.
#   ca.pem                 the test CA (trusted by server and clients)
#   server.pem/-key.pem    pykmip-server: SAN localhost, 127.0.0.1, 10.0.2.100
#   other-ca.pem           an unrelated CA
#   rogue.pem/-key.pem     a server certificate from other-ca (wrong cert)
#   wrongname.pem/-key.pem a server certificate from ca.pem for another name
#   hosta, hostb           two hosts of one cluster: CN=veil-cluster-1
#                          (the key manager's identity), different keys
#   hostc                  a host outside it: CN=veil-intruder
#   noeku                  CN=veil-cluster-1 without the clientAuth EKU
#   alien                  CN=veil-cluster-1 from other-ca (the key manager
#                          does not know its CA: refused at the TLS layer)
#   cnonly                 a server certificate from ca.pem with CN=localhost
#                          and no subjectAltName (names are checked in SANs)
#   expired                CN=veil-cluster-1 from ca.pem, expired in 2020
#   revoked                CN=veil-cluster-1 from ca.pem, revoked in crl.pem
set -eu
d=$1
mkdir -p "$d"
cd "$d"
days=2
subj() { echo "/O=veil test/CN=$1"; }

ca() { # name
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1-key.pem" -out "$1.pem" -days $days -subj "$(subj "$1")" \
		-addext basicConstraints=critical,CA:true \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

leaf() { # name cn ca ext
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1-key.pem" -out "$1.csr" -subj "$(subj "$2")" 2>/dev/null
	printf '%b\n' "$4" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3-key.pem" \
		-CAcreateserial -out "$1.pem" -days $days -extfile "$1.ext" 2>/dev/null
	rm -f "$1.csr" "$1.ext"
}

srv='basicConstraints=CA:false\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth'
cli='basicConstraints=CA:false\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth'
ca ca
ca other-ca
leaf server kmip-test ca "$srv\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:10.0.2.100"
leaf rogue kmip-test other-ca "$srv\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:10.0.2.100"
leaf wrongname kmip-test ca "$srv\nsubjectAltName=DNS:elsewhere.example"
leaf hosta veil-cluster-1 ca "$cli"
leaf hostb veil-cluster-1 ca "$cli"
leaf hostc veil-intruder ca "$cli"
leaf noeku veil-cluster-1 ca 'basicConstraints=CA:false\nkeyUsage=digitalSignature'
leaf alien veil-cluster-1 other-ca "$cli"
leaf cnonly localhost ca "$srv"
# expired and revoked client certificates need a CA database
mkdir -p cadb
: >cadb/index.txt
echo 1000 >cadb/serial
cat >cadb/ca.cnf <<'CNF'
[ca]
default_ca = d
[d]
database = cadb/index.txt
new_certs_dir = cadb
serial = cadb/serial
default_md = sha256
default_crl_days = 2
unique_subject = no
policy = p
[p]
organizationName = optional
commonName = supplied
CNF
printf '%b\n' "$cli" >cadb/cli.ext
signed() { # name ca-options...
	local n=$1
	shift
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$n-key.pem" -out "$n.csr" -subj "$(subj veil-cluster-1)" 2>/dev/null
	openssl ca -batch -notext -config cadb/ca.cnf -cert ca.pem -keyfile ca-key.pem \
		-in "$n.csr" -out "$n.pem" -extfile cadb/cli.ext "$@" 2>/dev/null
	rm -f "$n.csr"
}
signed expired -startdate 20200101000000Z -enddate 20200102000000Z
signed revoked -days $days
openssl ca -config cadb/ca.cnf -cert ca.pem -keyfile ca-key.pem \
	-revoke revoked.pem -crl_reason keyCompromise 2>/dev/null
openssl ca -gencrl -config cadb/ca.cnf -cert ca.pem -keyfile ca-key.pem \
	-out crl.pem 2>/dev/null
chmod 600 ./*-key.pem
