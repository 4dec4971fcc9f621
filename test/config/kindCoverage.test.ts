// The guard of config validation by kind (issue #30, docs/threat-model.md T24): it walks the config schema
// (schema.ts KEYS, through test/support/schemaKinds.ts) and fails when a key of a kind (URL, host, host:port,
// port, NodePort, image, registry, integer, duration, quantity, ratio) has no case for each of its kind's worst
// values in WORST below, so a key added later without its cases fails the build. Each case runs the committed
// stack file with one override through config validation, which runs before the program registers anything
// (test/config/beforeResources.test.ts), and expects exactly one line: the key and the limit, nothing else.
import { z } from "zod";
import { KEYS } from "../../components/config/schema";
import { portKind, ValueKind } from "../../components/config/valueKinds";
import { UsageError } from "../../components/config/errors";
import { loadEngineConfig } from "../../components/config/stackFiles";
import { SECRET_KEY_NAMES, SECRET_KEYS, SecretKey } from "../../components/config/secretKeys";
import { configProblems, configProblemsAfter } from "../support/configProblems";
import { schemaLeaves } from "../support/schemaKinds";

/** [which worst value, stack, `-c`-style override, the one line expected]. */
type Case = [worst: string, stack: string, override: string, expected: string];

/** The worst values every key of a kind is tried with. */
const REQUIRED: Record<ValueKind, string[]> = {
  url: ["userinfo", "port", "host", "scheme"],
  host: ["scheme", "label", "metadata"],
  hostPort: ["userinfo", "port"],
  port: ["0", "65536"],
  // the api-server's default --service-node-port-range is 30000-32767
  nodePort: ["0", "29999", "32768", "65536", "fraction"],
  image: ["grammar", "tag", "port", "length", "digest"],
  // distribution/reference v0.6.0's tag grammar [\w][\w.-]{0,127}; the tag is also a label value (at most 63)
  imageTag: ["leading", "digest", "length"],
  publicIp: ["private", "malformed"],
  // a first component without '.' or ':' that is not localhost is a Docker Hub path (distribution/reference
  // v0.6.0 normalize.go splitDockerDomain), so `mirror` pulls from docker.io/mirror/...
  registry: ["scheme", "port", "bareHost"],
  integer: ["below", "above", "fraction"],
  duration: ["zero", "malformed", "range"],
  quantity: ["int64", "malformed"],
  ratio: ["below", "above"],
};

/** Every key of a kind, by its schema path, with its worst values. */
const WORST: Record<string, Case[]> = {
  "platform:network.natBandwidthMbps": [
    ["below", "prod1", "platform:network.natBandwidthMbps=0", "platform:network.natBandwidthMbps: must be >= 1"],
    ["above", "prod1", "platform:network.natBandwidthMbps=2147483648", "platform:network.natBandwidthMbps: must be <= 2147483647 (the API's int32)"],
    ["fraction", "prod1", "platform:network.natBandwidthMbps=100.5", "platform:network.natBandwidthMbps: must be a whole number"],
  ],
  "platform:kubernetes.imageRepository": [
    [
      "scheme",
      "prod1",
      "platform:kubernetes.imageRepository=https://registry.k8s.io",
      "platform:kubernetes.imageRepository: must be a registry host[:port][/path] without a scheme, such as mirror.livemall.internal or registry.example.com/google_containers",
    ],
    [
      "port",
      "prod1",
      "platform:kubernetes.imageRepository=registry.cn-hangzhou.aliyuncs.com:0/google_containers",
      "platform:kubernetes.imageRepository: registry port 0 is not 1-65535",
    ],
    [
      "path",
      "prod1",
      "platform:kubernetes.imageRepository=registry.cn-hangzhou.aliyuncs.com/Google_Containers",
      "platform:kubernetes.imageRepository: path component \"Google_Containers\" is not lowercase letters and digits separated by '.', '_', '__' or '-' (distribution's reference grammar)",
    ],
    [
      "bareHost",
      "prod1",
      "platform:kubernetes.imageRepository=k8s-mirror/google_containers",
      "platform:kubernetes.imageRepository: must start with a registry host that has a '.' or a port, or is localhost (such as mirror.livemall.internal or registry.example.com/google_containers): container runtimes read \"k8s-mirror\" as a Docker Hub path, docker.io/k8s-mirror/...",
    ],
  ],
  "platform:kubernetes.packageRepository": [
    [
      "userinfo",
      "prod1",
      "platform:kubernetes.packageRepository=https://mirrors.aliyun.com@evil.example/kubernetes-new/core/stable/v1.35/deb/",
      "platform:kubernetes.packageRepository: must not carry userinfo (user@): it connects to evil.example, not to the name before '@'",
    ],
    [
      "port",
      "prod1",
      "platform:kubernetes.packageRepository=https://mirrors.aliyun.com:0/kubernetes-new/core/stable/v1.35/deb/",
      "platform:kubernetes.packageRepository: port 0 is not 1-65535",
    ],
    [
      "host",
      "prod1",
      "platform:kubernetes.packageRepository=https://mirrors..aliyun.com/kubernetes-new/core/stable/v1.35/deb/",
      "platform:kubernetes.packageRepository: host must be an RFC 1123 host name (dot-separated labels of letters, digits and '-', 1-63 characters, not starting or ending with '-'); \"\" is not a label",
    ],
    [
      "scheme",
      "prod1",
      "platform:kubernetes.packageRepository=https:mirrors.aliyun.com/kubernetes-new/core/stable/v1.35/deb/",
      "platform:kubernetes.packageRepository: must start with http:// or https:// literally (lowercase, with '//')",
    ],
  ],
  "platform:masters.count": [
    ["below", "prod1", "platform:masters.count=0", "platform:masters.count: must be at least 1"],
    ["above", "prod1", "platform:masters.count=2147483649", "platform:masters.count: must be <= 2147483647 (the API's int32)"],
    ["fraction", "prod1", "platform:masters.count=2.5", "platform:masters.count: must be a whole number"],
    ["double", "prod1", "platform:masters.count=1e400", "platform:masters.count: must be <= 2147483647 (the API's int32)"],
  ],
  "platform:masters.systemDiskGb": [
    ["below", "prod1", "platform:masters.systemDiskGb=39", "platform:masters.systemDiskGb: must be >= 40"],
    ["above", "prod1", "platform:masters.systemDiskGb=2049", "platform:masters.systemDiskGb: must be <= 2048"],
    ["fraction", "prod1", "platform:masters.systemDiskGb=100.5", "platform:masters.systemDiskGb: must be a whole number"],
  ],
  "platform:nodePools[].count": [
    ["below", "prod1", "platform:nodePools[0].count=-1", "platform:nodePools[0].count: must be >= 0"],
    ["above", "prod1", "platform:nodePools[0].count=2147483648", "platform:nodePools[0].count: must be <= 2147483647 (the API's int32)"],
    ["fraction", "prod1", "platform:nodePools[0].count=2.5", "platform:nodePools[0].count: must be a whole number"],
    ["unsafe", "prod1", "platform:nodePools[0].count=9007199254740993", "platform:nodePools[0].count: must be <= 2147483647 (the API's int32)"],
  ],
  "platform:nodePools[].systemDiskGb": [
    ["below", "prod1", "platform:nodePools[0].systemDiskGb=0", "platform:nodePools[0].systemDiskGb: must be >= 40"],
    ["above", "prod1", "platform:nodePools[0].systemDiskGb=2049", "platform:nodePools[0].systemDiskGb: must be <= 2048"],
    ["fraction", "prod1", "platform:nodePools[0].systemDiskGb=120.5", "platform:nodePools[0].systemDiskGb: must be a whole number"],
  ],
  "platform:ingress.controllerReplicas": [
    ["below", "prod1", 'platform:ingress={"controllerReplicas":0}', "platform:ingress.controllerReplicas: must be >= 1"],
    ["above", "prod1", 'platform:ingress={"controllerReplicas":51}', "platform:ingress.controllerReplicas: must be <= 50"],
    ["fraction", "prod1", 'platform:ingress={"controllerReplicas":6.5}', "platform:ingress.controllerReplicas: must be a whole number"],
  ],
  "platform:ingress.httpNodePort": [
    [
      "0",
      "prod1",
      'platform:ingress={"httpNodePort":0}',
      "platform:ingress.httpNodePort: must be a NodePort 30000-32767 (the api-server's default --service-node-port-range)",
    ],
    [
      "29999",
      "prod1",
      'platform:ingress={"httpNodePort":29999}',
      "platform:ingress.httpNodePort: must be a NodePort 30000-32767 (the api-server's default --service-node-port-range)",
    ],
    [
      "32768",
      "prod1",
      'platform:ingress={"httpNodePort":32768}',
      "platform:ingress.httpNodePort: must be a NodePort 30000-32767 (the api-server's default --service-node-port-range)",
    ],
    [
      "65536",
      "prod1",
      'platform:ingress={"httpNodePort":65536}',
      "platform:ingress.httpNodePort: must be a NodePort 30000-32767 (the api-server's default --service-node-port-range)",
    ],
    ["fraction", "prod1", 'platform:ingress={"httpNodePort":30080.5}', "platform:ingress.httpNodePort: must be a whole number"],
  ],
  "platform:ingress.httpsNodePort": [
    [
      "0",
      "prod1",
      'platform:ingress={"httpsNodePort":0}',
      "platform:ingress.httpsNodePort: must be a NodePort 30000-32767 (the api-server's default --service-node-port-range)",
    ],
    [
      "29999",
      "prod1",
      'platform:ingress={"httpsNodePort":29999}',
      "platform:ingress.httpsNodePort: must be a NodePort 30000-32767 (the api-server's default --service-node-port-range)",
    ],
    [
      "32768",
      "prod1",
      'platform:ingress={"httpsNodePort":32768}',
      "platform:ingress.httpsNodePort: must be a NodePort 30000-32767 (the api-server's default --service-node-port-range)",
    ],
    [
      "65536",
      "prod1",
      'platform:ingress={"httpsNodePort":65536}',
      "platform:ingress.httpsNodePort: must be a NodePort 30000-32767 (the api-server's default --service-node-port-range)",
    ],
    ["fraction", "prod1", 'platform:ingress={"httpsNodePort":30443.5}', "platform:ingress.httpsNodePort: must be a whole number"],
  ],
  "platform:logging.host": [
    [
      "scheme",
      "host",
      "platform:logging.host=https://es.ops.livemall.internal",
      'platform:logging.host: "https://es.ops.livemall.internal" has a scheme; give the host name alone (tls and port are their own keys)',
    ],
    [
      "label",
      "host",
      "platform:logging.host=es..ops.livemall.internal",
      'platform:logging.host: "es..ops.livemall.internal" is not a DNS host name (labels of at most 63 letters, digits or "-", at most 253 characters)',
    ],
    [
      "metadata",
      "host",
      "platform:logging.host=100.100.100.200",
      "platform:logging.host: 100.100.100.200 is Alibaba Cloud's instance metadata address; give the store's host name",
    ],
  ],
  "platform:logging.port": [
    ["0", "host", "platform:logging.port=0", "platform:logging.port: must be a TCP port 1-65535"],
    ["65536", "host", "platform:logging.port=65536", "platform:logging.port: must be a TCP port 1-65535"],
  ],
  "platform:logging.brokers[]": [
    [
      "userinfo",
      "prod1",
      "platform:logging.brokers[0]=kafka-1.log.livemall.internal@evil.example:9093",
      "platform:logging.brokers[0]: must not carry userinfo (user@): it connects to evil.example:9093",
    ],
    ["port", "prod1", "platform:logging.brokers[0]=kafka-1.log.livemall.internal:65536", "platform:logging.brokers[0]: port 65536 is not 1-65535"],
    ["0", "prod1", "platform:logging.brokers[0]=kafka-1.log.livemall.internal:0", "platform:logging.brokers[0]: port 0 is not 1-65535"],
    [
      "uppercase",
      "prod1",
      "platform:logging.brokers[0]=Kafka-1.log.livemall.internal:9093",
      "platform:logging.brokers[0]: host must be lowercase, kafka-1.log.livemall.internal:9093 (names are compared as written: TLS certificates, allow-lists)",
    ],
    [
      "leadingZero",
      "prod1",
      "platform:logging.brokers[0]=kafka-1.log.livemall.internal:09093",
      "platform:logging.brokers[0]: port 09093 has a leading zero; write 9093",
    ],
  ],
  "platform:monitoring.retention": [
    [
      "zero",
      "prod1",
      "platform:monitoring.retention=0d",
      "platform:monitoring.retention: must be more than 0d (Prometheus reads a zero --storage.tsdb.retention.time as not set)",
    ],
    ["malformed", "prod1", "platform:monitoring.retention=15x", "platform:monitoring.retention: must be a duration such as 15d"],
    [
      "range",
      "prod1",
      "platform:monitoring.retention=106752d",
      "platform:monitoring.retention: 106752d is past Prometheus' duration range (int64 nanoseconds, about 292 years)",
    ],
  ],
  "platform:monitoring.storageSize": [
    [
      "int64",
      "prod1",
      "platform:monitoring.storageSize=8388608Ti",
      "platform:monitoring.storageSize: 8388608Ti is past int64 bytes (9223372036854775807), the most a Kubernetes quantity carries",
    ],
    ["malformed", "prod1", "platform:monitoring.storageSize=100GB", "platform:monitoring.storageSize: must be a Kubernetes quantity such as 500m, 2 or 4Gi"],
  ],
  "platform:monitoring.grafanaUrl": [
    [
      "userinfo",
      "prod1",
      "platform:monitoring.grafanaUrl=https://grafana.livemall.internal@evil.example",
      "platform:monitoring.grafanaUrl: must not carry userinfo (user@): it connects to evil.example, not to the name before '@'",
    ],
    ["port", "prod1", "platform:monitoring.grafanaUrl=https://grafana.livemall.internal:65536", "platform:monitoring.grafanaUrl: port 65536 is not 1-65535"],
    [
      "host",
      "prod1",
      "platform:monitoring.grafanaUrl=https://100.100.100.200",
      "platform:monitoring.grafanaUrl: host 100.100.100.200 is Alibaba Cloud's instance metadata address",
    ],
    [
      "scheme",
      "prod1",
      "platform:monitoring.grafanaUrl=https:grafana.livemall.internal",
      "platform:monitoring.grafanaUrl: must start with http:// or https:// literally (lowercase, with '//')",
    ],
    [
      "normal",
      "prod1",
      "platform:monitoring.grafanaUrl=https://Grafana.livemall.internal",
      "platform:monitoring.grafanaUrl: must be written as the URL parser reads it (lowercase scheme and host, no default port, no '.' or '..' segments): https://grafana.livemall.internal/",
    ],
  ],
  "platform:monitoring.thresholds.ingress5xxRatio": [
    ["below", "prod1", 'platform:monitoring.thresholds={"ingress5xxRatio":0}', "platform:monitoring.thresholds.ingress5xxRatio: must be above 0"],
    ["above", "prod1", 'platform:monitoring.thresholds={"ingress5xxRatio":1}', "platform:monitoring.thresholds.ingress5xxRatio: must be below 1"],
  ],
  "platform:monitoring.thresholds.ingress4xxRatio": [
    ["below", "prod1", 'platform:monitoring.thresholds={"ingress4xxRatio":-0.1}', "platform:monitoring.thresholds.ingress4xxRatio: must be above 0"],
    ["above", "prod1", 'platform:monitoring.thresholds={"ingress4xxRatio":1.5}', "platform:monitoring.thresholds.ingress4xxRatio: must be below 1"],
  ],
  "platform:monitoring.thresholds.restartsIn15m": [
    ["below", "prod1", 'platform:monitoring.thresholds={"restartsIn15m":0}', "platform:monitoring.thresholds.restartsIn15m: must be >= 1"],
    [
      "above",
      "prod1",
      'platform:monitoring.thresholds={"restartsIn15m":2147483648}',
      "platform:monitoring.thresholds.restartsIn15m: must be <= 2147483647 (the API's int32)",
    ],
    ["fraction", "prod1", 'platform:monitoring.thresholds={"restartsIn15m":2.5}', "platform:monitoring.thresholds.restartsIn15m: must be a whole number"],
  ],
  "platform:apps.<name>.image": [
    [
      "grammar",
      "prod1",
      "platform:apps.order-service.image=harbor.livemall.internal/commerce/Order-Service",
      "platform:apps.order-service.image: must be registry-host[:port]/path with lowercase path components separated by '.', '_', '__' or '-' (distribution's reference grammar), e.g. harbor.livemall.internal/commerce/order-service",
    ],
    [
      "tag",
      "prod1",
      "platform:apps.order-service.image=harbor.livemall.internal/commerce/order-service:v1",
      "platform:apps.order-service.image: must be an image repository without a tag or digest (the tag is its own key), e.g. harbor.livemall.internal/commerce/order-service",
    ],
    [
      "port",
      "prod1",
      "platform:apps.order-service.image=harbor.livemall.internal:70000/commerce/order-service",
      "platform:apps.order-service.image: registry port 70000 is not 1-65535",
    ],
    [
      "length",
      "prod1",
      "platform:apps.order-service.image=harbor.livemall.internal/commerce/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      "platform:apps.order-service.image: is 264 characters; an image name is at most 255 (distribution's reference grammar)",
    ],
    [
      "digest",
      "prod1",
      "platform:apps.order-service.image=harbor.livemall.internal/commerce/order-service@sha256:00",
      "platform:apps.order-service.image: must be an image repository without a tag or digest (the tag is its own key), e.g. harbor.livemall.internal/commerce/order-service",
    ],
  ],
  "platform:apps.<name>.replicas": [
    ["below", "prod1", "platform:apps.order-service.replicas=0", "platform:apps.order-service.replicas: must be >= 1"],
    ["above", "prod1", "platform:apps.order-service.replicas=2147483648", "platform:apps.order-service.replicas: must be <= 2147483647 (the API's int32)"],
    ["fraction", "prod1", "platform:apps.order-service.replicas=2.5", "platform:apps.order-service.replicas: must be a whole number"],
  ],
  "platform:apps.<name>.port": [
    ["0", "prod1", "platform:apps.order-service.port=0", "platform:apps.order-service.port: must be a TCP port 1-65535"],
    ["65536", "prod1", "platform:apps.order-service.port=65536", "platform:apps.order-service.port: must be a TCP port 1-65535"],
  ],
  "platform:apps.<name>.host": [
    [
      "scheme",
      "prod1",
      "platform:apps.order-service.host=https://order.livemall.com",
      "platform:apps.order-service.host: must be a DNS host name such as order.example.com (labels of at most 63 characters)",
    ],
    [
      "label",
      "prod1",
      "platform:apps.order-service.host=order..livemall.com",
      "platform:apps.order-service.host: must be a DNS host name such as order.example.com (labels of at most 63 characters)",
    ],
    [
      "metadata",
      "prod1",
      "platform:apps.order-service.host=100.100.100.200",
      "platform:apps.order-service.host: must be a DNS host name such as order.example.com (labels of at most 63 characters)",
    ],
  ],
  "platform:apps.<name>.resources.cpu": [
    [
      "int64",
      "prod1",
      'platform:apps.order-service.resources={"cpu":"9223372036854776","memory":"4Gi"}',
      "platform:apps.order-service.resources.cpu: 9223372036854776 is past int64 millicores (9223372036854775807), the most a Kubernetes quantity carries",
    ],
    [
      "malformed",
      "prod1",
      'platform:apps.order-service.resources={"cpu":"2 cores","memory":"4Gi"}',
      "platform:apps.order-service.resources.cpu: must be a Kubernetes quantity such as 500m, 2 or 4Gi",
    ],
  ],
  "platform:apps.<name>.resources.memory": [
    [
      "int64",
      "prod1",
      'platform:apps.order-service.resources={"cpu":"2","memory":"8388608Ti"}',
      "platform:apps.order-service.resources.memory: 8388608Ti is past int64 bytes (9223372036854775807), the most a Kubernetes quantity carries",
    ],
    [
      "malformed",
      "prod1",
      'platform:apps.order-service.resources={"cpu":"2","memory":"4GB"}',
      "platform:apps.order-service.resources.memory: must be a Kubernetes quantity such as 500m, 2 or 4Gi",
    ],
  ],
  "platform:apps.<name>.resources.cpuLimit": [
    [
      "int64",
      "prod1",
      'platform:apps.order-service.resources={"cpu":"2","memory":"4Gi","cpuLimit":"9223372036854775808m"}',
      "platform:apps.order-service.resources.cpuLimit: 9223372036854775808m is past int64 millicores (9223372036854775807), the most a Kubernetes quantity carries",
    ],
    [
      "malformed",
      "prod1",
      'platform:apps.order-service.resources={"cpu":"2","memory":"4Gi","cpuLimit":"-1"}',
      "platform:apps.order-service.resources.cpuLimit: must be a Kubernetes quantity such as 500m, 2 or 4Gi",
    ],
  ],
  "platform:apps.<name>.resources.memoryLimit": [
    [
      "int64",
      "prod1",
      'platform:apps.order-service.resources={"cpu":"2","memory":"4Gi","memoryLimit":"9223372036854775808"}',
      "platform:apps.order-service.resources.memoryLimit: 9223372036854775808 is past int64 bytes (9223372036854775807), the most a Kubernetes quantity carries",
    ],
    [
      "malformed",
      "prod1",
      'platform:apps.order-service.resources={"cpu":"2","memory":"4Gi","memoryLimit":"4Gb"}',
      "platform:apps.order-service.resources.memoryLimit: must be a Kubernetes quantity such as 500m, 2 or 4Gi",
    ],
  ],
  "platform:apps.<name>.canary.weight": [
    [
      "below",
      "prod1",
      'platform:apps.order-service.canary={"tag":"v9.9.9","weight":0}',
      "platform:apps.order-service.canary.weight: must be a whole percent 1-99, got 0",
    ],
    [
      "above",
      "prod1",
      'platform:apps.order-service.canary={"tag":"v9.9.9","weight":100}',
      "platform:apps.order-service.canary.weight: must be a whole percent 1-99, got 100",
    ],
    [
      "fraction",
      "prod1",
      'platform:apps.order-service.canary={"tag":"v9.9.9","weight":1.5}',
      "platform:apps.order-service.canary.weight: must be a whole percent 1-99, got 1.5",
    ],
  ],
  "platform:apps.<name>.autoscale.min": [
    ["below", "prod1", 'platform:apps.order-service.autoscale={"min":0,"max":8,"cpuPercent":70}', "platform:apps.order-service.autoscale.min: must be >= 1"],
    [
      "above",
      "prod1",
      'platform:apps.order-service.autoscale={"min":2147483648,"max":8,"cpuPercent":70}',
      "platform:apps.order-service.autoscale.min: must be <= 2147483647 (the API's int32)",
    ],
    [
      "fraction",
      "prod1",
      'platform:apps.order-service.autoscale={"min":1.5,"max":8,"cpuPercent":70}',
      "platform:apps.order-service.autoscale.min: must be a whole number",
    ],
  ],
  "platform:apps.<name>.autoscale.max": [
    ["below", "prod1", 'platform:apps.order-service.autoscale={"min":4,"max":0,"cpuPercent":70}', "platform:apps.order-service.autoscale.max: must be >= 1"],
    [
      "above",
      "prod1",
      'platform:apps.order-service.autoscale={"min":4,"max":2147483648,"cpuPercent":70}',
      "platform:apps.order-service.autoscale.max: must be <= 2147483647 (the API's int32)",
    ],
    [
      "fraction",
      "prod1",
      'platform:apps.order-service.autoscale={"min":4,"max":8.5,"cpuPercent":70}',
      "platform:apps.order-service.autoscale.max: must be a whole number",
    ],
  ],
  "platform:apps.<name>.autoscale.cpuPercent": [
    [
      "below",
      "prod1",
      'platform:apps.order-service.autoscale={"min":4,"max":8,"cpuPercent":0}',
      "platform:apps.order-service.autoscale.cpuPercent: must be >= 1",
    ],
    [
      "above",
      "prod1",
      'platform:apps.order-service.autoscale={"min":4,"max":8,"cpuPercent":2147483648}',
      "platform:apps.order-service.autoscale.cpuPercent: must be <= 2147483647 (the API's int32)",
    ],
    [
      "fraction",
      "prod1",
      'platform:apps.order-service.autoscale={"min":4,"max":8,"cpuPercent":1.5}',
      "platform:apps.order-service.autoscale.cpuPercent: must be a whole number",
    ],
  ],
  "platform:apps.<name>.slo.availability": [
    ["below", "prod1", 'platform:apps.order-service.slo={"availability":0.9}', "platform:apps.order-service.slo.availability: must be above 0.9, e.g. 0.999"],
    [
      "above",
      "prod1",
      'platform:apps.order-service.slo={"availability":1}',
      "platform:apps.order-service.slo.availability: must be below 1 (100% leaves no error budget)",
    ],
  ],
  "platform:apps.<name>.slo.latencyP99Ms": [
    [
      "below",
      "prod1",
      'platform:apps.order-service.slo={"latencyP99Ms":0}',
      "platform:apps.order-service.slo.latencyP99Ms: must be a bucket bound of ingress-nginx's latency histogram (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)",
    ],
    [
      "above",
      "prod1",
      'platform:apps.order-service.slo={"latencyP99Ms":2147483648}',
      "platform:apps.order-service.slo.latencyP99Ms: must be a bucket bound of ingress-nginx's latency histogram (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)",
    ],
    [
      "fraction",
      "prod1",
      'platform:apps.order-service.slo={"latencyP99Ms":500.5}',
      "platform:apps.order-service.slo.latencyP99Ms: must be a bucket bound of ingress-nginx's latency histogram (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)",
    ],
  ],
  "platform:tracing.elasticsearch.host": [
    [
      "scheme",
      "prod1",
      'platform:tracing.elasticsearch={"host":"https://es-apm.prod.livemall.internal"}',
      "platform:tracing.elasticsearch.host: must be a host name without scheme or port (dot-separated labels of letters, digits and '-', 1-63 characters, not starting or ending with '-'); \"https://es-apm\" is not a label",
    ],
    [
      "label",
      "prod1",
      'platform:tracing.elasticsearch={"host":"es..prod.livemall.internal"}',
      "platform:tracing.elasticsearch.host: must be a host name without scheme or port (dot-separated labels of letters, digits and '-', 1-63 characters, not starting or ending with '-'); \"\" is not a label",
    ],
    [
      "metadata",
      "prod1",
      'platform:tracing.elasticsearch={"host":"100.100.100.200"}',
      "platform:tracing.elasticsearch.host: must not be Alibaba Cloud's instance metadata address: 100.100.100.200",
    ],
  ],
  "platform:tracing.elasticsearch.port": [
    [
      "0",
      "prod1",
      'platform:tracing.elasticsearch={"host":"es-apm.prod.livemall.internal","port":0}',
      "platform:tracing.elasticsearch.port: must be a TCP port 1-65535",
    ],
    [
      "65536",
      "prod1",
      'platform:tracing.elasticsearch={"host":"es-apm.prod.livemall.internal","port":65536}',
      "platform:tracing.elasticsearch.port: must be a TCP port 1-65535",
    ],
  ],
  "platform:tracing.oapReplicas": [
    ["below", "prod1", "platform:tracing.oapReplicas=0", "platform:tracing.oapReplicas: must be >= 1"],
    ["above", "prod1", "platform:tracing.oapReplicas=11", "platform:tracing.oapReplicas: must be <= 10"],
    ["fraction", "prod1", "platform:tracing.oapReplicas=2.5", "platform:tracing.oapReplicas: must be a whole number"],
  ],
  "platform:tracing.oapResources.cpu": [
    [
      "int64",
      "prod1",
      'platform:tracing.oapResources={"cpu":"9223372036854776","memory":"8Gi"}',
      "platform:tracing.oapResources.cpu: 9223372036854776 is past int64 millicores (9223372036854775807), the most a Kubernetes quantity carries",
    ],
    [
      "malformed",
      "prod1",
      'platform:tracing.oapResources={"cpu":"two","memory":"8Gi"}',
      "platform:tracing.oapResources.cpu: must be a Kubernetes quantity such as 500m, 2 or 4Gi",
    ],
  ],
  "platform:tracing.oapResources.memory": [
    [
      "int64",
      "prod1",
      'platform:tracing.oapResources={"cpu":"2","memory":"8589934592Gi"}',
      "platform:tracing.oapResources.memory: 8589934592Gi is past int64 bytes (9223372036854775807), the most a Kubernetes quantity carries",
    ],
    ["malformed", "prod1", 'platform:tracing.oapResources={"cpu":"2","memory":"8G"}', "platform:tracing.oapResources.memory: must be whole Gi, such as 4Gi"],
  ],
  "platform:tracing.uiReplicas": [
    ["below", "prod1", "platform:tracing.uiReplicas=0", "platform:tracing.uiReplicas: must be >= 1"],
    ["above", "prod1", "platform:tracing.uiReplicas=6", "platform:tracing.uiReplicas: must be <= 5"],
    ["fraction", "prod1", "platform:tracing.uiReplicas=1.5", "platform:tracing.uiReplicas: must be a whole number"],
  ],
  "platform:tracing.sampleNPer3Secs": [
    [
      "below",
      "prod1",
      "platform:tracing.sampleNPer3Secs=0",
      "platform:tracing.sampleNPer3Secs: must be >= 1 (traces per 3 seconds per instance; leave it out to keep every trace)",
    ],
    ["above", "prod1", "platform:tracing.sampleNPer3Secs=2147483648", "platform:tracing.sampleNPer3Secs: must be <= 2147483647 (the agent reads a Java int)"],
    ["fraction", "prod1", "platform:tracing.sampleNPer3Secs=10.5", "platform:tracing.sampleNPer3Secs: must be a whole number"],
  ],
  "platform:tracing.ui.host": [
    [
      "scheme",
      "prod1",
      "platform:tracing.ui.host=https://skywalking.prod1.livemall.internal",
      "platform:tracing.ui.host: must be a DNS host name such as order.example.com (labels of at most 63 characters)",
    ],
    [
      "label",
      "prod1",
      "platform:tracing.ui.host=skywalking..livemall.internal",
      "platform:tracing.ui.host: must be a DNS host name such as order.example.com (labels of at most 63 characters)",
    ],
    [
      "metadata",
      "prod1",
      "platform:tracing.ui.host=169.254.169.254",
      "platform:tracing.ui.host: must be a DNS host name such as order.example.com (labels of at most 63 characters)",
    ],
  ],
  "platform:tracing.ui.authUrl": [
    [
      "userinfo",
      "prod1",
      "platform:tracing.ui.authUrl=https://sso.livemall.internal@evil.example/oauth2/auth",
      "platform:tracing.ui.authUrl: must not carry userinfo (user@): it connects to evil.example, not to the name before '@'",
    ],
    ["port", "prod1", "platform:tracing.ui.authUrl=https://sso.livemall.internal:0/oauth2/auth", "platform:tracing.ui.authUrl: port 0 is not 1-65535"],
    [
      "host",
      "prod1",
      "platform:tracing.ui.authUrl=https://sso_livemall.internal/oauth2/auth",
      "platform:tracing.ui.authUrl: host must be an RFC 1123 host name (dot-separated labels of letters, digits and '-', 1-63 characters, not starting or ending with '-'); \"sso_livemall\" is not a label",
    ],
    [
      "scheme",
      "prod1",
      "platform:tracing.ui.authUrl=https:sso.livemall.internal/oauth2/auth",
      "platform:tracing.ui.authUrl: must start with http:// or https:// literally (lowercase, with '//')",
    ],
  ],
  "platform:tracing.ui.authSignin": [
    [
      "userinfo",
      "prod1",
      "platform:tracing.ui.authSignin=https://sso.livemall.internal@evil.example/oauth2/start",
      "platform:tracing.ui.authSignin: must not carry userinfo (user@): it connects to evil.example, not to the name before '@'",
    ],
    [
      "port",
      "prod1",
      "platform:tracing.ui.authSignin=https://sso.livemall.internal:65536/oauth2/start",
      "platform:tracing.ui.authSignin: port 65536 is not 1-65535",
    ],
    [
      "host",
      "prod1",
      "platform:tracing.ui.authSignin=https://[::ffff:169.254.100.200]/oauth2/start",
      "platform:tracing.ui.authSignin: host [::ffff:a9fe:64c8] is an IPv4-mapped address (it reaches the IPv4 address inside it)",
    ],
    [
      "scheme",
      "prod1",
      "platform:tracing.ui.authSignin=HTTPS://sso.livemall.internal/oauth2/start",
      "platform:tracing.ui.authSignin: must start with http:// or https:// literally (lowercase, with '//')",
    ],
  ],
  "platform:apollo.meta": [
    [
      "userinfo",
      "prod1",
      "platform:apollo.meta=http://apollo-meta.pro.livemall.internal:8080@evil.example",
      "platform:apollo.meta: must not carry userinfo (user@): it connects to evil.example, not to the name before '@'",
    ],
    ["port", "prod1", "platform:apollo.meta=http://apollo-meta.pro.livemall.internal:0", "platform:apollo.meta: port 0 is not 1-65535"],
    ["host", "prod1", "platform:apollo.meta=http://0x7f.1:8080", "platform:apollo.meta: host 127.0.0.1 is a loopback address"],
    [
      "scheme",
      "prod1",
      "platform:apollo.meta=http:apollo-meta.pro.livemall.internal:8080",
      "platform:apollo.meta: must start with http:// or https:// literally (lowercase, with '//')",
    ],
    ["ip", "prod1", "platform:apollo.meta=http://10.0.0.1:8080", "platform:apollo.meta: host must be a host name, not an IP address (10.0.0.1)"],
  ],
  "platform:harbor.registry": [
    [
      "scheme",
      "prod1",
      "platform:harbor.registry=https://harbor.livemall.internal",
      "platform:harbor.registry: must be a registry host[:port] without a scheme, such as harbor.livemall.internal",
    ],
    ["port", "prod1", "platform:harbor.registry=harbor.livemall.internal:99999", "platform:harbor.registry: registry port 99999 is not 1-65535"],
    [
      "path",
      "prod1",
      "platform:harbor.registry=harbor.livemall.internal/commerce",
      "platform:harbor.registry: must be a registry host[:port] with no path, such as harbor.livemall.internal",
    ],
    [
      "bareHost",
      "prod1",
      "platform:harbor.registry=harbor",
      "platform:harbor.registry: must start with a registry host that has a '.' or a port, or is localhost (such as harbor.livemall.internal): container runtimes read \"harbor\" as a Docker Hub path, docker.io/harbor/...",
    ],
    [
      "defaultPort",
      "prod1",
      "platform:harbor.registry=harbor.livemall.internal:443",
      "platform:harbor.registry: must not give https' default port 443: image references name the registry as harbor.livemall.internal, such as harbor.livemall.internal",
    ],
  ],
  "platform:etcdBackup.schedule": [
    [
      "zero",
      "prod1",
      'platform:etcdBackup={"schedule":"0m"}',
      'platform:etcdBackup.schedule: "0m" is not a period that divides a day: use 15m, 20m, 30m or 1h, 2h, 3h, 4h, 6h, 8h, 12h, 24h',
    ],
    [
      "malformed",
      "prod1",
      'platform:etcdBackup={"schedule":"90s"}',
      'platform:etcdBackup.schedule: "90s" is not a period that divides a day: use 15m, 20m, 30m or 1h, 2h, 3h, 4h, 6h, 8h, 12h, 24h',
    ],
    [
      "range",
      "prod1",
      'platform:etcdBackup={"schedule":"9223372036854775808h"}',
      'platform:etcdBackup.schedule: "9223372036854775808h" is not a period that divides a day: use 15m, 20m, 30m or 1h, 2h, 3h, 4h, 6h, 8h, 12h, 24h',
    ],
  ],
  "platform:etcdBackup.retentionDays": [
    ["below", "prod1", 'platform:etcdBackup={"retentionDays":0}', "platform:etcdBackup.retentionDays: must be >= 1"],
    ["above", "prod1", 'platform:etcdBackup={"retentionDays":366}', "platform:etcdBackup.retentionDays: must be <= 365"],
    ["fraction", "prod1", 'platform:etcdBackup={"retentionDays":7.5}', "platform:etcdBackup.retentionDays: must be a whole number"],
  ],
  "platform:etcdBackup.localCopies": [
    ["below", "prod1", 'platform:etcdBackup={"localCopies":0}', "platform:etcdBackup.localCopies: must be >= 1"],
    ["above", "prod1", 'platform:etcdBackup={"localCopies":49}', "platform:etcdBackup.localCopies: must be <= 48"],
    ["fraction", "prod1", 'platform:etcdBackup={"localCopies":5.5}', "platform:etcdBackup.localCopies: must be a whole number"],
  ],
  "platform:secretStore.endpoint": [
    [
      "userinfo",
      "prod1",
      "platform:secretStore.endpoint=https://kms-vpc.cn-shanghai.aliyuncs.com@evil.example",
      "platform:secretStore.endpoint: must not carry userinfo (user@): it connects to evil.example, not to the name before '@'",
    ],
    [
      "port",
      "prod1",
      "platform:secretStore.endpoint=https://kms-vpc.cn-shanghai.aliyuncs.com:99999",
      "platform:secretStore.endpoint: port 99999 is not 1-65535",
    ],
    [
      "scheme",
      "prod1",
      "platform:secretStore.endpoint=http://kms-vpc.cn-shanghai.aliyuncs.com",
      "platform:secretStore.endpoint: must be an https URL, not http",
    ],
    [
      "host",
      "prod1",
      "platform:secretStore.endpoint=https://-kms-.cn-shanghai.aliyuncs.com",
      "platform:secretStore.endpoint: host must be an RFC 1123 host name (dot-separated labels of letters, digits and '-', 1-63 characters, not starting or ending with '-'); \"-kms-\" is not a label",
    ],
  ],
  "platform:images.registry": [
    [
      "scheme",
      "prod1",
      "platform:images.registry=https://mirror.livemall.internal",
      "platform:images.registry: must be a registry host[:port][/path] without a scheme, such as mirror.livemall.internal or registry.example.com/google_containers",
    ],
    ["port", "prod1", "platform:images.registry=mirror.livemall.internal:0", "platform:images.registry: registry port 0 is not 1-65535"],
    [
      "bareHost",
      "prod1",
      "platform:images.registry=mirror",
      "platform:images.registry: must start with a registry host that has a '.' or a port, or is localhost (such as mirror.livemall.internal or registry.example.com/google_containers): container runtimes read \"mirror\" as a Docker Hub path, docker.io/mirror/...",
    ],
  ],
  "platform:console.url": [
    [
      "userinfo",
      "host",
      "platform:console.url=https://console.livemall.internal@evil.example",
      "platform:console.url: must not carry userinfo (user@): it connects to evil.example, not to the name before '@'",
    ],
    ["port", "host", "platform:console.url=https://console.livemall.internal:65536", "platform:console.url: port 65536 is not 1-65535"],
    [
      "host",
      "host",
      "platform:console.url=https://169.254.169.254",
      "platform:console.url: host 169.254.169.254 is link-local (the instance metadata service)",
    ],
    [
      "scheme",
      "host",
      "platform:console.url=https:console.livemall.internal",
      "platform:console.url: must start with http:// or https:// literally (lowercase, with '//')",
    ],
  ],
  "platform:console.identityProvider.issuer": [
    [
      "userinfo",
      "host",
      "platform:console.identityProvider.issuer=https://sso.livemall.internal@evil.example/realms/staff",
      "platform:console.identityProvider.issuer: must not carry userinfo (user@): it connects to evil.example, not to the name before '@'",
    ],
    [
      "port",
      "host",
      "platform:console.identityProvider.issuer=https://sso.livemall.internal:0/realms/staff",
      "platform:console.identityProvider.issuer: port 0 is not 1-65535",
    ],
    [
      "host",
      "host",
      "platform:console.identityProvider.issuer=https://10.0.0.1/realms/staff",
      "platform:console.identityProvider.issuer: host must be a host name, not an IP address (10.0.0.1)",
    ],
    [
      "scheme",
      "host",
      "platform:console.identityProvider.issuer=https:sso.livemall.internal/realms/staff",
      "platform:console.identityProvider.issuer: must start with http:// or https:// literally (lowercase, with '//')",
    ],
  ],
  "platform:console.identityProvider.host": [
    [
      "userinfo",
      "host",
      'platform:console.identityProvider={"type":"ldap","name":"livemall-ldap","host":"ldap.livemall.internal@evil.example:389","managerDN":"cn=admin","userSearchBase":"dc=livemall"}',
      "platform:console.identityProvider.host: must not carry userinfo (user@): it connects to evil.example:389",
    ],
    [
      "port",
      "host",
      'platform:console.identityProvider={"type":"ldap","name":"livemall-ldap","host":"ldap.livemall.internal:65536","managerDN":"cn=admin","userSearchBase":"dc=livemall"}',
      "platform:console.identityProvider.host: port 65536 is not 1-65535",
    ],
  ],
  "platform:logSearch.kibana": [
    [
      "userinfo",
      "prod1",
      "platform:logSearch.kibana=https://kibana.log.livemall.internal@evil.example",
      "platform:logSearch.kibana: must not carry userinfo (user@): it connects to evil.example, not to the name before '@' (the sync sends an admin API key to it)",
    ],
    [
      "port",
      "prod1",
      "platform:logSearch.kibana=https://kibana.log.livemall.internal:0",
      "platform:logSearch.kibana: port 0 is not 1-65535 (the sync sends an admin API key to it)",
    ],
    [
      "scheme",
      "prod1",
      "platform:logSearch.kibana=http://kibana.log.livemall.internal",
      "platform:logSearch.kibana: must be an https URL, not http (the sync sends an admin API key to it)",
    ],
    [
      "host",
      "prod1",
      "platform:logSearch.kibana=https://kibana..log.livemall.internal",
      "platform:logSearch.kibana: host must be an RFC 1123 host name (dot-separated labels of letters, digits and '-', 1-63 characters, not starting or ending with '-'); \"\" is not a label (the sync sends an admin API key to it)",
    ],
  ],
  "platform:logSearch.elasticsearch": [
    [
      "userinfo",
      "prod1",
      "platform:logSearch.elasticsearch=https://es-api.log.livemall.internal@evil.example",
      "platform:logSearch.elasticsearch: must not carry userinfo (user@): it connects to evil.example, not to the name before '@' (the sync sends an admin API key to it)",
    ],
    [
      "port",
      "prod1",
      "platform:logSearch.elasticsearch=https://es-api.log.livemall.internal:65536",
      "platform:logSearch.elasticsearch: port 65536 is not 1-65535 (the sync sends an admin API key to it)",
    ],
    [
      "scheme",
      "prod1",
      "platform:logSearch.elasticsearch=http://es-api.log.livemall.internal",
      "platform:logSearch.elasticsearch: must be an https URL, not http (the sync sends an admin API key to it)",
    ],
    [
      "host",
      "prod1",
      "platform:logSearch.elasticsearch=https://[::1]",
      "platform:logSearch.elasticsearch: host [::1] is a loopback address (the sync sends an admin API key to it)",
    ],
  ],
  "platform:dingtalkWebhook": [
    [
      "userinfo",
      "dev",
      "platform:dingtalkWebhook=https://oapi.dingtalk.com@evil.example/robot/send?access_token=abc",
      "platform:dingtalkWebhook: must not carry userinfo (user@): it connects to the host after '@', not to the name before '@', such as https://oapi.dingtalk.com/robot/send?access_token=... (value not shown: it is a secret)",
    ],
    [
      "port",
      "dev",
      "platform:dingtalkWebhook=https://oapi.dingtalk.com:70000/robot/send?access_token=abc",
      "platform:dingtalkWebhook: port 70000 is not 1-65535, such as https://oapi.dingtalk.com/robot/send?access_token=... (value not shown: it is a secret)",
    ],
    [
      "host",
      "dev",
      "platform:dingtalkWebhook=https://169.254.169.254/robot/send?access_token=abc",
      "platform:dingtalkWebhook: host must not be a loopback, link-local or metadata address, such as https://oapi.dingtalk.com/robot/send?access_token=... (value not shown: it is a secret)",
    ],
    [
      "scheme",
      "dev",
      "platform:dingtalkWebhook=http://oapi.dingtalk.com/robot/send?access_token=abc",
      "platform:dingtalkWebhook: must be an https URL, not another scheme, such as https://oapi.dingtalk.com/robot/send?access_token=... (value not shown: it is a secret)",
    ],
    [
      "normal",
      "dev",
      "platform:dingtalkWebhook=https://OAPI.dingtalk.com/robot/send?access_token=abc",
      "platform:dingtalkWebhook: must be written as the URL parser reads it (lowercase scheme and host, no default port, no '.' or '..' segments), such as https://oapi.dingtalk.com/robot/send?access_token=... (value not shown: it is a secret)",
    ],
  ],
  "platform:apps.<name>.tag": [
    [
      "leading",
      "prod1",
      "platform:apps.order-service.tag=-x",
      "platform:apps.order-service.tag: tag \"-x\" is not an image tag (a letter, digit or '_', then up to 127 of those, '.' or '-': distribution's tag grammar)",
    ],
    [
      "digest",
      "prod1",
      "platform:apps.order-service.tag=v2@sha256:00",
      "platform:apps.order-service.tag: tag \"v2@sha256:00\" is not an image tag (a letter, digit or '_', then up to 127 of those, '.' or '-': distribution's tag grammar)",
    ],
    [
      "length",
      "prod1",
      "platform:apps.order-service.tag=v111111111111111111111111111111111111111111111111111111111111111",
      'platform:apps.order-service.tag: tag "v111111111111111111111111111111111111111111111111111111111111111" must also fit the app.kubernetes.io/version label (at most 63 characters, ending in a letter or digit)',
    ],
  ],
  "platform:apps.<name>.history[]": [
    [
      "leading",
      "prod1",
      "platform:apps.order-service.history[0]=-x",
      "platform:apps.order-service.history[0]: tag \"-x\" is not an image tag (a letter, digit or '_', then up to 127 of those, '.' or '-': distribution's tag grammar)",
    ],
    [
      "digest",
      "prod1",
      "platform:apps.order-service.history[0]=v2@sha256:00",
      "platform:apps.order-service.history[0]: tag \"v2@sha256:00\" is not an image tag (a letter, digit or '_', then up to 127 of those, '.' or '-': distribution's tag grammar)",
    ],
    [
      "length",
      "prod1",
      "platform:apps.order-service.history[0]=v111111111111111111111111111111111111111111111111111111111111111",
      'platform:apps.order-service.history[0]: tag "v111111111111111111111111111111111111111111111111111111111111111" must also fit the app.kubernetes.io/version label (at most 63 characters, ending in a letter or digit)',
    ],
  ],
  "platform:apps.<name>.canary.tag": [
    [
      "leading",
      "prod1",
      'platform:apps.order-service.canary={"tag":"-x","weight":10}',
      "platform:apps.order-service.canary.tag: tag \"-x\" is not an image tag (a letter, digit or '_', then up to 127 of those, '.' or '-': distribution's tag grammar)",
    ],
    [
      "digest",
      "prod1",
      'platform:apps.order-service.canary={"tag":"v2@sha256:00","weight":10}',
      "platform:apps.order-service.canary.tag: tag \"v2@sha256:00\" is not an image tag (a letter, digit or '_', then up to 127 of those, '.' or '-': distribution's tag grammar)",
    ],
    [
      "length",
      "prod1",
      'platform:apps.order-service.canary={"tag":"v111111111111111111111111111111111111111111111111111111111111111","weight":10}',
      'platform:apps.order-service.canary.tag: tag "v111111111111111111111111111111111111111111111111111111111111111" must also fit the app.kubernetes.io/version label (at most 63 characters, ending in a letter or digit)',
    ],
  ],
  "platform:datacenter.publicIp": [
    [
      "private",
      "prod1",
      "platform:datacenter.publicIp=10.1.2.3",
      "platform:datacenter.publicIp: must be a public IPv4 address; 10.1.2.3 is private (RFC 1918)",
    ],
    [
      "shared",
      "prod1",
      "platform:datacenter.publicIp=100.100.100.200",
      "platform:datacenter.publicIp: must be a public IPv4 address; 100.100.100.200 is shared address space (RFC 6598, 100.64.0.0/10)",
    ],
    [
      "malformed",
      "prod1",
      "platform:datacenter.publicIp=203.0.113.010",
      'platform:datacenter.publicIp: must be an IPv4 address in dotted decimal (four numbers 0-255 without leading zeros), got "203.0.113.010"',
    ],
  ],
};

/** The secret keys that take a value of a kind (they skip the schema; stackConfig.ts checks them by the same kinds.ts rules). */
const SECRET_KINDED = SECRET_KEY_NAMES.filter((k) => (SECRET_KEYS[k] as SecretKey).kind !== undefined);
const leaves = [
  ...Object.entries(KEYS).flatMap(([k, v]) => schemaLeaves(v as z.ZodType, `platform:${k}`)),
  ...SECRET_KINDED.map((k) => ({ path: `platform:${k}`, kind: (SECRET_KEYS[k] as SecretKey).kind, type: "secret" })),
];
/** A leaf whose name says it takes a URL, host, port, image, duration or quantity. */
const NAMED_LIKE_A_KIND =
  /(url|host|endpoint|registry|repository|image|port|brokers|meta|retention|schedule|size|memory|cpu|cpulimit|memorylimit|issuer|authsignin|address|addr|server|interval|timeout|ttl|webhook|ip|tag|history)$/i;

describe("the guard: every key of a kind has its worst values", () => {
  test("every number key is built by a kind helper (integer, port, NodePort, ratio)", () => {
    expect(leaves.filter((l) => l.type === "number" && !l.kind).map((l) => l.path)).toEqual([]);
  });

  test("every key named like a URL, host, port, image, duration or quantity is built by a kind helper", () => {
    expect(
      leaves
        .filter(
          (l) =>
            !l.kind &&
            NAMED_LIKE_A_KIND.test(
              l.path
                .split(/[.[\]]/)
                .filter(Boolean)
                .pop()!,
            ),
        )
        .map((l) => l.path),
    ).toEqual([]);
  });

  test("every key of a kind has a case for each of its kind's worst values", () => {
    const missing = leaves
      .filter((l) => l.kind)
      .flatMap((l) => REQUIRED[l.kind!].filter((w) => !(WORST[l.path] ?? []).some((c) => c[0] === w)).map((w) => `${l.path} (${l.kind}): no "${w}" case`));
    expect(missing).toEqual([]);
  });

  test("the table names only keys the schema has, each under its own kind", () => {
    const kinded = new Set(leaves.filter((l) => l.kind).map((l) => l.path));
    expect(Object.keys(WORST).filter((k) => !kinded.has(k))).toEqual([]);
  });

  test("the keys by kind (60 keys, the secret webhook among them; a new one changes this and needs its cases)", () => {
    const byKind: Record<string, number> = {};
    for (const l of leaves) if (l.kind) byKind[l.kind] = (byKind[l.kind] ?? 0) + 1;
    expect(byKind).toEqual({
      url: 11,
      host: 4,
      hostPort: 2,
      port: 3,
      nodePort: 2,
      image: 1,
      imageTag: 3,
      publicIp: 1,
      registry: 3,
      integer: 18,
      duration: 2,
      quantity: 7,
      ratio: 3,
    });
  });

  test("the walk refuses a zod type it does not know, rather than take it for a leaf", () => {
    expect(() => schemaLeaves(z.object({ later: z.lazy(() => portKind()) }), "platform:newThing")).toThrow(
      'platform:newThing.later: the kind walk does not know zod type "lazy"; add it to test/support/schemaKinds.ts',
    );
    expect(() => schemaLeaves(z.tuple([z.string(), portKind()]), "platform:pair")).toThrow('does not know zod type "tuple"');
  });

  test("the walk finds a key added without cases (the guard can fail)", () => {
    const added = schemaLeaves(z.object({ bind: portKind().optional().describe("x") }), "platform:newThing");
    expect(added).toEqual([{ path: "platform:newThing.bind", kind: "port", type: "number" }]);
    expect(WORST[added[0].path]).toBeUndefined();
  });
});

const CASES = Object.entries(WORST).flatMap(([key, cases]) =>
  cases.map(([worst, stack, override, expected]) => [key, worst, stack, override, expected] as const),
);

describe.each(CASES)("%s, %s", (key, _worst, stack, override, expected) => {
  test("one line, naming the key and the limit", () => {
    // the line names the key the override set (a record's <name> and an array's [] made concrete)
    expect(expected.startsWith(`${key.replace(".<name>", ".order-service").replace("[]", "[0]")}:`)).toBe(true);
    const secret = SECRET_KINDED.find((k) => key === `platform:${k}`);
    // a secret is set as one (a -c override would be plain text, refused before its value is read)
    const got = secret
      ? configProblemsAfter(stack, [], (c) => {
          c.values[key] = override.slice(key.length + 1);
        })
      : configProblems(stack, override);
    expect(got).toEqual([expected]);
    if (secret) expect(got[0]).not.toContain(override.slice(key.length + 1));
  });
});

test("an override past a list's end is one usage line, not a line per hole", () => {
  expect(() => loadEngineConfig("prod1", ["platform:nodePools[7].count=3"])).toThrow(
    "-c platform:nodePools[7]: does not exist; platform:nodePools has 2 ([0]-[1]), and [2] adds one",
  );
  expect(() => loadEngineConfig("prod1", ["platform:nodePools[7].count=3"])).toThrow(UsageError);
  expect(() => loadEngineConfig("prod1", ['platform:network.zones[5]="cn-shanghai-l"'])).toThrow(
    "-c platform:network.zones[5]: does not exist; platform:network.zones has 3 ([0]-[2]), and [3] adds one",
  );
});

test("the committed stack files pass", () => {
  for (const stack of ["host", "dev", "test", "pre", "prod1", "prod2"]) expect(configProblems(stack)).toEqual([]);
});

describe("ordinary values pass (what nobody should be refused)", () => {
  test.each([
    ["prod1", "platform:nodePools[0].count=24"], // the README's -c example
    ["prod1", "platform:images.registry=mirror.livemall.internal:5000/proxy"],
    ["prod1", "platform:kubernetes.imageRepository=registry.k8s.io"],
    ["host", "platform:images.registry=mirror.livemall.internal"],
    ["prod1", "platform:secretStore.endpoint=https://kms.cn-shanghai.aliyuncs.com"],
    ["prod1", "platform:monitoring.retention=1d"],
    ["prod1", 'platform:ingress={"httpNodePort":30000,"httpsNodePort":32767}'],
    ["prod1", 'platform:apps.order-service.resources={"cpu":"1.5","memory":"1536Mi","cpuLimit":"2500m","memoryLimit":"8G"}'],
    ["prod1", 'platform:network.zones=["cn-shanghai-l","cn-shanghai-m","cn-shanghai-n"]'],
    ["prod2", 'platform:network.zones=["cn-beijing-k","cn-beijing-l"]'],
    ["prod1", "platform:network.vpcCidr=10.40.0.0/23"],
    ["host", "platform:monitoring.storageSize=1Ti"],
    ["host", "platform:monitoring.storageSize=7Ei"], // 7 * 2^60 bytes, under int64
  ])("%s %s", (stack, override) => {
    expect(configProblems(stack, override)).toEqual([]);
  });
});
