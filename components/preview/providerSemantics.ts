// What a changed input does to each resource type the program registers: which
// input paths force a replacement (ForceNew / RequiresReplace in the provider),
// which in-place updates stop (or reboot) an ECS instance, and where each fact
// comes from. The offline diff reads this table; a test holds it to every type
// in every stack's plan.
//
// Sources, read at these commits (names are the Pulumi SDK's camelCase of the
// Terraform schema names; @pulumi/alicloud 3.108.0 bridges terraform-provider-alicloud,
// its `.d.ts` files carry the same input names):
//   aliyun/terraform-provider-alicloud 81c43b67 (2026-08-21): alicloud/resource_alicloud_<x>.go
//     schema `ForceNew: true`; docs website/docs/r/<x>.html.markdown.
//   pulumi/pulumi-kubernetes 94977969: provider/pkg/provider/diff.go (forceNew per kind,
//     .metadata.name/.namespace always), helm_release.go:907 (.name, .namespace).
//   hashicorp/terraform-provider-tls d72d90e1: internal/provider/resource_*.go RequiresReplace.
//   hashicorp/terraform-provider-random ad788e23: internal/provider/resource_password.go,
//     resource_bytes.go RequiresReplace (keepers too).

export interface TypeSemantics {
  /**
   * Input paths whose change replaces the resource. A rule covers its sub-paths
   * (`subject` covers `subject.commonName`, `securityGroups` covers `securityGroups[1]`);
   * `*` covers every input.
   */
  replaceOn: string[];
  /** Input paths updated in place but only with the instance stopped (or rebooted). */
  stopsOn?: string[];
  /** Input paths holding a fixed private address: a replacement must delete first. */
  fixedAddress?: string[];
  /** Where the facts come from. */
  source: string;
}

const TF = (x: string) => `terraform-provider-alicloud alicloud/resource_alicloud_${x}.go (website/docs/r/${x}.html.markdown)`;
const K8S = "pulumi-kubernetes provider/pkg/provider/diff.go (forceNew; .metadata.name/.namespace for every kind)";
const META = ["metadata.name", "metadata.namespace"];
const COMPONENT: TypeSemantics = { replaceOn: [], source: "component resource: no provider; its children carry the changes" };

export const PROVIDER_SEMANTICS: Record<string, TypeSemantics> = {
  // --- Alibaba Cloud ---------------------------------------------------------
  "alicloud:ecs/instance:Instance": {
    // availability_zone :36, system_disk_category :136, security_enhancement_strategy :490 (ForceNew).
    replaceOn: ["availabilityZone", "systemDiskCategory", "securityEnhancementStrategy"],
    // resourceAliCloudInstanceUpdate :1891-1960 stops the instance (StopInstance) when
    // modifyInstanceImage :2795 (ReplaceSystemDisk), modifyVpcAttribute :2999 (vswitch_id,
    // private_ip), modifyInstanceType :3084, or modifyInstanceAttribute :2878 (user_data,
    // host_name: reboot) report a change.
    stopsOn: ["instanceType", "imageId", "vswitchId", "privateIp", "userData", "hostName"],
    fixedAddress: ["privateIp"],
    source: TF("instance"),
  },
  // cidr_block :32, vpc_id :77, zone_id :87 ForceNew.
  "alicloud:vpc/switch:Switch": { replaceOn: ["cidrBlock", "vpcId", "zoneId", "availabilityZone", "isDefault"], source: TF("vswitch") },
  // Only force_delete, is_default, user_cidrs are ForceNew; cidr_block and vpc_name update in place.
  "alicloud:vpc/network:Network": { replaceOn: ["isDefault", "userCidrs"], source: TF("vpc") },
  // security_group_type, vpc_id ForceNew; inner_access_policy and names update in place.
  "alicloud:ecs/securityGroup:SecurityGroup": { replaceOn: ["vpcId", "securityGroupType"], source: TF("security_group") },
  // Every field but description is ForceNew.
  "alicloud:ecs/securityGroupRule:SecurityGroupRule": {
    replaceOn: [
      "type",
      "ipProtocol",
      "policy",
      "portRange",
      "priority",
      "securityGroupId",
      "nicType",
      "cidrIp",
      "sourceSecurityGroupId",
      "sourceGroupOwnerAccount",
      "sourceGroupOwnerId",
      "prefixListId",
    ],
    source: TF("security_group_rule"),
  },
  // vpc_id :164, payment_type :73, internet_charge_type :47 ForceNew; nat_type and vswitch_id update in place (:571-579).
  "alicloud:vpc/natGateway:NatGateway": {
    replaceOn: ["vpcId", "paymentType", "internetChargeType", "instanceChargeType", "privateLinkEnabled", "accessMode", "availabilityMode"],
    source: TF("nat_gateway"),
  },
  "alicloud:vpc/snatEntry:SnatEntry": { replaceOn: ["snatTableId", "sourceVswitchId", "sourceCidr"], source: TF("snat_entry") },
  // payment_type :117, internet_charge_type :76, isp :89 ... ForceNew; bandwidth and name update in place.
  "alicloud:ecs/eipAddress:EipAddress": {
    replaceOn: [
      "paymentType",
      "internetChargeType",
      "instanceChargeType",
      "isp",
      "netmode",
      "ipAddress",
      "zone",
      "allocationId",
      "publicIpAddressPoolId",
      "securityProtectionTypes",
    ],
    source: TF("eip_address"),
  },
  "alicloud:ecs/eipAssociation:EipAssociation": {
    replaceOn: ["allocationId", "instanceId", "instanceType", "privateIpAddress", "vpcId"],
    source: TF("eip_association"),
  },
  // alicloud_slb_load_balancer is the SDK's slb/applicationLoadBalancer (pulumi-alicloud provider/resources.go).
  // address :35, address_type :60, master_zone_id :143, slave_zone_id :195, vswitch_id :208 ForceNew.
  "alicloud:slb/applicationLoadBalancer:ApplicationLoadBalancer": {
    replaceOn: ["address", "addressType", "addressIpVersion", "masterZoneId", "slaveZoneId", "vswitchId", "internet", "resourceGroupId"],
    fixedAddress: ["address"],
    source: TF("slb_load_balancer"),
  },
  "alicloud:slb/listener:Listener": {
    replaceOn: ["loadBalancerId", "frontendPort", "backendPort", "protocol", "forwardPort", "listenerForward"],
    source: TF("slb_listener"),
  },
  "alicloud:slb/serverGroup:ServerGroup": { replaceOn: ["loadBalancerId"], source: TF("slb_server_group") },
  // Every field is ForceNew (a weight change re-attaches the server).
  "alicloud:slb/serverGroupServerAttachment:ServerGroupServerAttachment": {
    replaceOn: ["serverGroupId", "serverId", "port", "weight", "type", "description"],
    source: TF("slb_server_group_server_attachment"),
  },
  "alicloud:slb/backendServer:BackendServer": { replaceOn: ["loadBalancerId"], source: TF("slb_backend_server") },
  // The etcd backup bucket and the masters' role. bucket, redundancy_type, storage_class ForceNew.
  "alicloud:oss/bucket:Bucket": { replaceOn: ["bucket", "redundancyType", "storageClass"], source: TF("oss_bucket") },
  // bucket ForceNew; block_public_access updates in place.
  "alicloud:oss/bucketPublicAccessBlock:BucketPublicAccessBlock": { replaceOn: ["bucket"], source: TF("oss_bucket_public_access_block") },
  // role_name (and the deprecated name) ForceNew; the trust policy updates in place.
  // The masters' secret store (81c43b67). secret_name, secret_type, encryption_key_id, dkms_instance_id, extended_config ForceNew; secret_data/version_id add a version in place.
  "alicloud:kms/secret:Secret": { replaceOn: ["secretName", "dkmsInstanceId", "encryptionKeyId", "secretType", "extendedConfig"], source: TF("kms_secret") },
  "alicloud:ram/role:Role": { replaceOn: ["roleName", "name"], source: TF("ram_role") },
  // policy_name (and the deprecated name) ForceNew; the document gets a new version in place.
  "alicloud:ram/policy:Policy": { replaceOn: ["policyName", "name"], source: TF("ram_policy") },
  // role_name, policy_name, policy_type all ForceNew (no Update).
  "alicloud:ram/rolePolicyAttachment:RolePolicyAttachment": { replaceOn: ["roleName", "policyName", "policyType"], source: TF("ram_role_policy_attachment") },
  // instance_id, ram_role_name ForceNew.
  "alicloud:ecs/ramRoleAttachment:RamRoleAttachment": { replaceOn: ["instanceId", "ramRoleName"], source: TF("ecs_ram_role_attachment") },
  // bandwidth :41, network_type :73, payment_type :80, vswitch_id :111, vpc_id :117 ForceNew.
  "alicloud:vpn/gateway:Gateway": {
    replaceOn: ["bandwidth", "networkType", "paymentType", "instanceChargeType", "vswitchId", "vpcId", "vpnType", "sslConnections"],
    source: TF("vpn_gateway"),
  },
  "alicloud:vpn/customerGateway:CustomerGateway": { replaceOn: ["ipAddress", "asn"], source: TF("vpn_customer_gateway") },
  // Of the tunnels only their customer gateway is ForceNew (:312-316 at 81c43b67); the block itself
  // (:251) and its PSK, IKE, IPsec, DPD and NAT-T settings update in place.
  "alicloud:vpn/connection:Connection": {
    replaceOn: ["customerGatewayId", "vpnGatewayId", "tunnelOptionsSpecifications[*].customerGatewayId"],
    source: TF("vpn_connection"),
  },
  "alicloud:vpc/routeEntry:RouteEntry": {
    replaceOn: ["routeTableId", "destinationCidrblock", "nexthopType", "nexthopId", "name", "description"],
    source: TF("route_entry"),
  },

  // --- Kubernetes ------------------------------------------------------------
  "kubernetes:apps/v1:Deployment": { replaceOn: [...META, "spec.selector"], source: `${K8S}: Deployment .spec.selector (immutable in apps/v1)` },
  // A patch of an object the chart owns; a new target name or namespace is another object.
  "kubernetes:apps/v1:DeploymentPatch": { replaceOn: META, source: `${K8S}: DeploymentPatch (server-side apply patch) by .metadata.name/.namespace` },
  "kubernetes:apps/v1:DaemonSet": { replaceOn: [...META, "spec.selector"], source: `${K8S}: DaemonSet .spec.selector` },
  "kubernetes:core/v1:Service": { replaceOn: [...META, "spec.clusterIP"], source: `${K8S}: Service .spec.clusterIP` },
  // The program's providers leave enableSecretMutable / enableConfigMapMutable off, so data changes replace.
  "kubernetes:core/v1:Secret": {
    replaceOn: [...META, "type", "data", "stringData"],
    source: `${K8S}: Secret .type/.data/.stringData unless enableSecretMutable`,
  },
  "kubernetes:core/v1:ConfigMap": { replaceOn: [...META, "data", "binaryData"], source: `${K8S}: ConfigMap .data/.binaryData unless enableConfigMapMutable` },
  // The log-search sync (fleet/logSearch.ts): a new name per content, so every change replaces anyway.
  "kubernetes:batch/v1:Job": {
    replaceOn: [...META, "spec.completions", "spec.parallelism", "spec.selector", "spec.template"],
    source: `${K8S}: batch Job .spec.completions/.parallelism/.selector/.template (diff.go \`job\`, at 94977969d)`,
  },
  "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": { replaceOn: [...META, "roleRef"], source: `${K8S}: RoleBinding/ClusterRoleBinding .roleRef` },
  "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole": { replaceOn: META, source: K8S },
  "kubernetes:core/v1:Namespace": { replaceOn: META, source: K8S },
  "kubernetes:core/v1:NamespacePatch": { replaceOn: META, source: `${K8S}: NamespacePatch (server-side apply patch) by .metadata.name` },
  "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy": { replaceOn: META, source: K8S },
  "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding": { replaceOn: META, source: K8S },
  "kubernetes:storage.k8s.io/v1:StorageClass": {
    replaceOn: [...META, "provisioner", "parameters", "reclaimPolicy", "volumeBindingMode"],
    source: `${K8S}: StorageClass .provisioner/.parameters/.reclaimPolicy/.volumeBindingMode (immutable in storage.k8s.io/v1)`,
  },
  "kubernetes:core/v1:ServiceAccount": { replaceOn: META, source: K8S },
  // policy/v1 has no kind entry (only v1beta1 replaces on .spec).
  "kubernetes:policy/v1:PodDisruptionBudget": { replaceOn: META, source: `${K8S}: policy/v1 PodDisruptionBudget updates .spec in place` },
  "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": { replaceOn: META, source: K8S },
  "kubernetes:networking.k8s.io/v1:Ingress": { replaceOn: META, source: K8S },
  "kubernetes:networking.k8s.io/v1:NetworkPolicy": {
    replaceOn: META,
    source: `${K8S}: networking/v1 NetworkPolicy updates .spec in place (kubernetes v1.35.4 pkg/apis/networking/validation ValidateNetworkPolicyUpdate checks the new spec, no immutable field)`,
  },
  "kubernetes:monitoring.coreos.com/v1:PrometheusRule": { replaceOn: META, source: K8S },
  "kubernetes:monitoring.coreos.com/v1:ServiceMonitor": { replaceOn: META, source: K8S },
  "kubernetes:cluster.kubesphere.io/v1alpha1:Cluster": { replaceOn: META, source: K8S },
  // The console (fleet/console.ts): CRDs of kubesphere v4.1.3, updated in place (no immutable fields in their schemas).
  "kubernetes:tenant.kubesphere.io/v1beta1:WorkspaceTemplate": { replaceOn: META, source: K8S },
  "kubernetes:iam.kubesphere.io/v1beta1:WorkspaceRoleBinding": { replaceOn: META, source: K8S },
  "kubernetes:iam.kubesphere.io/v1beta1:GlobalRoleBinding": { replaceOn: META, source: K8S },
  "kubernetes:iam.kubesphere.io/v1beta1:RoleBinding": { replaceOn: META, source: K8S },
  "kubernetes:kubesphere.io/v1alpha1:InstallPlan": { replaceOn: META, source: K8S },
  "kubernetes:helm.sh/v3:Release": {
    replaceOn: ["name", "namespace"],
    source: "pulumi-kubernetes provider/pkg/provider/helm_release.go:907 (.name, .namespace)",
  },

  // --- random / tls: every input (and keepers) replaces -----------------------
  "random:index/randomPassword:RandomPassword": {
    replaceOn: ["*"],
    source: "terraform-provider-random internal/provider/resource_password.go (every input RequiresReplace; keepers too)",
  },
  "random:index/randomString:RandomString": {
    replaceOn: ["*"],
    source: "terraform-provider-random internal/provider/resource_string.go (every input RequiresReplace; keepers too)",
  },
  "random:index/randomBytes:RandomBytes": {
    replaceOn: ["*"],
    source: "terraform-provider-random internal/provider/resource_bytes.go (length, keepers RequiresReplace)",
  },
  "tls:index/privateKey:PrivateKey": {
    replaceOn: ["*"],
    source: "terraform-provider-tls internal/provider/resource_private_key.go (algorithm, rsaBits, ecdsaCurve RequiresReplace)",
  },
  "tls:index/certRequest:CertRequest": {
    replaceOn: ["*"],
    source: "terraform-provider-tls internal/provider/resource_cert_request.go (every input RequiresReplace)",
  },
  "tls:index/selfSignedCert:SelfSignedCert": {
    replaceOn: [
      "privateKeyPem",
      "subject",
      "validityPeriodHours",
      "allowedUses",
      "dnsNames",
      "ipAddresses",
      "uris",
      "isCaCertificate",
      "maxPathLength",
      "setSubjectKeyId",
      "setAuthorityKeyId",
    ],
    source: "terraform-provider-tls internal/provider/resource_self_signed_cert.go (all but earlyRenewalHours RequiresReplace)",
  },
  "tls:index/locallySignedCert:LocallySignedCert": {
    replaceOn: ["caCertPem", "caPrivateKeyPem", "certRequestPem", "validityPeriodHours", "allowedUses", "isCaCertificate", "maxPathLength", "setSubjectKeyId"],
    source: "terraform-provider-tls internal/provider/resource_locally_signed_cert.go (all but earlyRenewalHours RequiresReplace)",
  },

  // Cloud Assistant: every argument of both is ForceNew (ecs_command: command_content, name,
  // description, enable_parameter, timeout, type, working_dir; ecs_invocation: command_id,
  // instance_id, repeat_mode, timed, frequency, parameters, username, windows_password_name);
  // neither has an Update function. A new config is a new command, hence new invocations.
  "alicloud:ecs/command:Command": { replaceOn: ["*"], source: TF("ecs_command") },
  "alicloud:ecs/ecsInvocation:EcsInvocation": { replaceOn: ["*"], source: TF("ecs_invocation") },

  // --- the program's own ----------------------------------------------------
  "pulumi-nodejs:dynamic/cluster:ApiServerReadiness": {
    // A new master set or expected workers re-runs the check in place (update), so dependents stay.
    replaceOn: ["server", "caPem"],
    source: "components/cluster/readiness.ts readinessDiff (endpoint or CA change replaces; masters/workers update)",
  },
  "pulumi-nodejs:dynamic/cluster:CloudAssistantReady": {
    // Another VM is another agent to wait for; nothing else is worth a new check.
    replaceOn: ["instanceId"],
    source: "components/cluster/cloudAssistant.ts agentReadyProvider.diff (a new instance replaces)",
  },
  "pulumi:pulumi:StackReference": { replaceOn: ["name"], source: "a read of another stack's outputs: a new name reads another stack" },
  // Provider config is not modelled: a changed kubeconfig updates the provider in place; a
  // changed alicloud region would move every resource (the program never changes it).
  "pulumi:providers:alicloud": { replaceOn: [], source: "provider resource: config changes update it in place (region is fixed per stack)" },
  "pulumi:providers:kubernetes": { replaceOn: [], source: "provider resource: kubeconfig changes update it in place" },
  "pulumi:pulumi:Stack": COMPONENT,
};

/** Component types (platform:*) carry no inputs of their own. */
export function semanticsFor(type: string): TypeSemantics | undefined {
  return PROVIDER_SEMANTICS[type] ?? (type.startsWith("platform:") ? COMPONENT : undefined);
}

/** Whether `path` is `rule` or under it (`a.b` and `a[0]` are under `a`; `a[*].b` covers `a[3].b`, not `a[3].c`). */
export function pathUnder(path: string, rule: string): boolean {
  if (rule === "*") return true;
  if (rule.includes("[*]")) {
    const pattern = rule
      .split("[*]")
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
      .join("\\[\\d+\\]");
    return new RegExp(`^${pattern}($|[.[])`).test(path);
  }
  return path === rule || path.startsWith(`${rule}.`) || path.startsWith(`${rule}[`);
}

/** The rule that makes a change of `path` replace the resource, if any. */
export function replaceRule(type: string, path: string, replaceOnChanges: string[] = []): string | undefined {
  const s = semanticsFor(type);
  return [...(s?.replaceOn ?? []), ...replaceOnChanges].find((r) => pathUnder(path, r));
}

/**
 * For a changed SECRET at `path`: the replace rule at or under it, if any. The offline diff sees a
 * secret only as a whole (its digest), so a change inside it may be the one field that replaces
 * (a VPN connection's tunnel list holds the PSK and each tunnel's customerGatewayId: ipsecLink.ts).
 * Conservative on purpose: any change of a secret that holds a replacing field counts as a replacement.
 */
export function secretReplaceRule(type: string, path: string, replaceOnChanges: string[] = []): string | undefined {
  const own = replaceRule(type, path, replaceOnChanges);
  if (own) return own;
  const prefix = path
    .split(/\[\d+\]/)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join("\\[(?:\\d+|\\*)\\]");
  const under = new RegExp(`^${prefix}[.[]`);
  return [...(semanticsFor(type)?.replaceOn ?? []), ...replaceOnChanges].find((r) => under.test(r));
}

/** The rule that makes an in-place update of `path` stop the instance, if any. */
export function stopRule(type: string, path: string): string | undefined {
  return semanticsFor(type)?.stopsOn?.find((r) => pathUnder(path, r));
}
