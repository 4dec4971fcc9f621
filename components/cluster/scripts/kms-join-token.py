import base64, datetime, hashlib, hmac, json, os, sys, urllib.error, urllib.parse, urllib.request, uuid
# The worker join token in KMS Secrets Manager (workerToken.ts): `get` prints "<token> <expires>" (exit 3
# when the secret does not exist yet); `put` stores JOIN_TOKEN and JOIN_TOKEN_EXPIRES from the
# environment as a new current version, creating the secret the first time. Signed RPC requests
# (signature version 1.0) with the instance role's STS credentials from STS_CREDS.
url, name, mode = sys.argv[1:4]
c = json.loads(os.environ["STS_CREDS"])
enc = lambda s: urllib.parse.quote(s, safe="-_.~")

def call(action, **extra):
    params = {"Action": action, "SecretName": name, "Format": "JSON", "Version": "2016-01-20",
              "AccessKeyId": c["AccessKeyId"], "SecurityToken": c["SecurityToken"], "SignatureMethod": "HMAC-SHA1",
              "SignatureVersion": "1.0", "SignatureNonce": str(uuid.uuid4()),
              "Timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), **extra}
    query = "&".join(enc(k) + "=" + enc(v) for k, v in sorted(params.items()))
    sig = base64.b64encode(hmac.new((c["AccessKeySecret"] + "&").encode(), ("GET&%2F&" + enc(query)).encode(), hashlib.sha1).digest()).decode()
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/?" + query + "&Signature=" + enc(sig), timeout=15) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        code = json.loads(e.read() or b"{}").get("Code", str(e.code))
        if code == "Forbidden.ResourceNotFound":
            return None
        sys.exit("kms-join-token: " + action + ": " + code)

if mode == "get":
    r = call("GetSecretValue")
    if r is None:
        sys.exit(3)
    d = json.loads(r["SecretData"])
    print(d["token"], d["expires"])
elif mode == "put":
    data = json.dumps({"token": os.environ["JOIN_TOKEN"], "expires": os.environ["JOIN_TOKEN_EXPIRES"]})
    version = "v-" + datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]
    if call("PutSecretValue", SecretData=data, SecretDataType="text", VersionId=version) is None:
        keys = {k: os.environ[e] for k, e in (("EncryptionKeyId", "KMS_KEY_ID"), ("DKMSInstanceId", "KMS_INSTANCE_ID")) if os.environ.get(e)}
        if call("CreateSecret", SecretData=data, SecretDataType="text", VersionId=version,
                Description="Worker join token, minted by the masters (k8s-worker-token.timer)", **keys) is None:
            sys.exit("kms-join-token: CreateSecret: not found")
else:
    sys.exit("usage: kms-join-token.py <url> <secret> get|put")
