import base64, datetime, hashlib, hmac, json, os, sys, urllib.error, urllib.parse, urllib.request, uuid
url, name, pki = sys.argv[1:4]
c = json.loads(os.environ["STS_CREDS"])
params = {"Action": "GetSecretValue", "SecretName": name, "Format": "JSON", "Version": "2016-01-20",
          "AccessKeyId": c["AccessKeyId"], "SecurityToken": c["SecurityToken"], "SignatureMethod": "HMAC-SHA1",
          "SignatureVersion": "1.0", "SignatureNonce": str(uuid.uuid4()),
          "Timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
enc = lambda s: urllib.parse.quote(s, safe="-_.~")
query = "&".join(enc(k) + "=" + enc(v) for k, v in sorted(params.items()))
sig = base64.b64encode(hmac.new((c["AccessKeySecret"] + "&").encode(), ("GET&%2F&" + enc(query)).encode(), hashlib.sha1).digest()).decode()
try:
    with urllib.request.urlopen(url.rstrip("/") + "/?" + query + "&Signature=" + enc(sig), timeout=15) as r:
        files = json.loads(json.load(r)["SecretData"])["files"]
except urllib.error.HTTPError as e:
    # KMS answers an error as JSON {Code, Message, RequestId}: say which call, which code, and what the role needs.
    try:
        err = json.load(e)
    except ValueError:
        err = {}
    sys.exit("k8s-bootstrap: KMS GetSecretValue of secret %s refused: HTTP %d %s: %s (RequestId %s); the instance role needs "
             "kms:GetSecretValue on the secret and kms:Decrypt on the key that encrypts it"
             % (name, e.code, err.get("Code", "?"), err.get("Message", e.reason), err.get("RequestId", "?")))
for rel, text in sorted(files.items()):
    if rel.startswith("/") or ".." in rel.split("/"):
        sys.exit("k8s-bootstrap: refusing secret store path " + rel)
    path = os.path.join(pki, rel)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    mode = 0o644 if rel.endswith((".crt", ".pub")) else 0o600
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path + ".tmp", mode)
    os.replace(path + ".tmp", path)
print("k8s-bootstrap: staged from the secret store: " + " ".join(sorted(files)))
