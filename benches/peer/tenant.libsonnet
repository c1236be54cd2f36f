// tenant.libsonnet: a client's files in one zone: its Flux Kustomization and its own directory
// (namespace, workload, network policies, and for dedicated clients the autoscaler, disruption
// budget, limits and quota).
local k = import 'k8s.libsonnet';
local platform = import 'platform.libsonnet';

// What each size of each hosting model runs: resources of one pod, and the replica count
// (shared) or the autoscaling floor (dedicated).
local tiers = {
  local t(cpuRequest, cpuLimit, memoryRequest, memoryLimit, replicas) = {
    cpuRequest: cpuRequest,
    cpuLimit: cpuLimit,
    memoryRequest: memoryRequest,
    memoryLimit: memoryLimit,
    replicas: replicas,
  },
  shared: {
    small: t('10m', '100m', '32Mi', '128Mi', 1),
    medium: t('50m', '250m', '64Mi', '256Mi', 2),
    large: t('100m', '500m', '128Mi', '512Mi', 2),
  },
  dedicated: {
    large: t('100m', '500m', '128Mi', '512Mi', 2),
    xlarge: t('200m', '1000m', '256Mi', '1Gi', 3),
  },
};

local autoscalingMax = 10;
local cpuPercent = 70;
local runAsUser = 101;

// Quantities, for the quota: a dedicated namespace must admit every pod the autoscaler may
// run plus the one a rollout surges, and never less than the platform's default.
local millis(q) =
  if std.endsWith(q, 'm') then std.parseInt(q[:std.length(q) - 1]) else std.parseInt(q) * 1000;
local units = [['Gi', std.pow(2, 30)], ['Mi', std.pow(2, 20)], ['Ki', std.pow(2, 10)]];
local bytes(q) =
  local unit = [u for u in units if std.endsWith(q, u[0])];
  if unit == [] then std.parseInt(q)
  else std.parseInt(q[:std.length(q) - 2]) * unit[0][1];
local formatCpu(m) = if m % 1000 == 0 then std.toString(m / 1000) else '%dm' % m;
local formatBytes(b) =
  local whole = [u for u in units if b >= u[1] && b % u[1] == 0];
  if whole == [] then std.toString(b) else '%d%s' % [b / whole[0][1], whole[0][0]];

local quota(tier) =
  local pods = autoscalingMax + 1;
  {
    'limits.cpu': formatCpu(std.max(4000, millis(tier.cpuLimit) * pods)),
    'limits.memory': formatBytes(std.max(8 * std.pow(2, 30), bytes(tier.memoryLimit) * pods)),
    persistentvolumeclaims: '10',
    'requests.cpu': formatCpu(std.max(2000, millis(tier.cpuRequest) * pods)),
    'requests.memory': formatBytes(std.max(4 * std.pow(2, 30), bytes(tier.memoryRequest) * pods)),
  };

// The pods roll when the config changes: the first 8 bytes of a SHA-256 over each key and
// value, each after its length as 8 big-endian bytes. Lengths are written as one character
// per byte, which is the byte itself only below 128: enough for the synthetic catalog.
local lengthBytes(s) =
  assert std.length(s) < 128 : 'config key or value of 128 characters or more: %s' % s;
  '\u0000\u0000\u0000\u0000\u0000\u0000\u0000' + std.char(std.length(s));
local configHash(config) =
  std.sha256(std.join('', [
    lengthBytes(key) + key + lengthBytes(config[key]) + config[key]
    for key in std.objectFields(config)
  ]))[:16];

local deployment(c, zone, ns, tier, selector, labels) =
  local dedicated = c.hosting == 'dedicated';
  local version = c.versions[zone.name];
  local digestPinned = std.length(std.findSubstr('@', version)) > 0;
  local spread = dedicated || tier.replicas > 1;
  local secretMounts = [
    { mountPath: s.mountPath, name: 'secret-' + s.name, readOnly: true }
    for s in c.secrets
  ];
  local secretVolumes = [
    { name: 'secret-' + s.name, secret: { defaultMode: 288, secretName: s.name } }
    for s in c.secrets
  ];
  local probe(initialDelay, period) = {
    failureThreshold: 3,
    httpGet: { path: '/health', port: 'http' },
    initialDelaySeconds: initialDelay,
    periodSeconds: period,
    timeoutSeconds: 2,
  };
  local container = {
    image: c.image + ':' + version,
    imagePullPolicy: 'Always',
    livenessProbe: probe(5, 10),
    name: 'web',
    ports: [{ containerPort: 8080, name: 'http', protocol: 'TCP' }],
    readinessProbe: probe(3, 5),
    resources: {
      limits: { cpu: tier.cpuLimit, 'ephemeral-storage': '512Mi', memory: tier.memoryLimit },
      requests: { cpu: tier.cpuRequest, 'ephemeral-storage': '64Mi', memory: tier.memoryRequest },
    },
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
    },
    volumeMounts: [{ mountPath: '/tmp', name: 'tmp' }] + secretMounts,
  } + (if c.config == {} then {} else {
         envFrom: [{ configMapRef: { name: 'web-config', optional: false } }],
       });
  local podSpec = {
    automountServiceAccountToken: false,
    containers: [container],
    enableServiceLinks: false,
    securityContext: {
      fsGroup: runAsUser,
      runAsGroup: runAsUser,
      runAsNonRoot: true,
      runAsUser: runAsUser,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    serviceAccountName: 'web',
    volumes: [{ emptyDir: { sizeLimit: '256Mi' }, name: 'tmp' }] + secretVolumes,
  } + (if spread then {
         // More than one pod: keep them on different nodes where the cluster can.
         affinity: {
           podAntiAffinity: {
             preferredDuringSchedulingIgnoredDuringExecution: [{
               podAffinityTerm: {
                 labelSelector: { matchLabels: selector },
                 topologyKey: 'kubernetes.io/hostname',
               },
               weight: 100,
             }],
           },
         },
         topologySpreadConstraints: [{
           labelSelector: { matchLabels: selector },
           maxSkew: 1,
           topologyKey: 'kubernetes.io/hostname',
           whenUnsatisfiable: 'ScheduleAnyway',
         }],
       } else {});
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: k.meta('web', ns, labels, {
      'checkov.io/skip1': "CKV_K8S_40=uid %d is the platform images' unprivileged user; runAsNonRoot and Pod Security restricted still apply" % runAsUser,
    } + (if digestPinned then {} else {
           'checkov.io/skip2': 'CKV_K8S_43=zones before production run tags; promotion pins production to a digest',
         })),
    spec: {
      revisionHistoryLimit: 5,
      selector: { matchLabels: selector },
      strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: 0 }, type: 'RollingUpdate' },
      template: {
        metadata: { labels: selector }
                  + (if c.config == {} then {} else {
                       annotations: { 'tenantgen.io/config-hash': configHash(c.config) },
                     }),
        spec: podSpec,
      },
    } + (if dedicated then {} else { replicas: tier.replicas }),
  };

local networkPolicies(c, zone, ns, selector) =
  [
    k.networkPolicy('default-deny', ns, {}, ['Ingress', 'Egress']),
    k.networkPolicy('allow-ingress-from-traefik', ns, { matchLabels: selector }, ['Ingress'], ingress=[{
      from: [{
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': zone.ingressNamespace } },
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'traefik' } },
      }],
      ports: [{ port: 8080, protocol: 'TCP' }],
    }]),
    k.networkPolicy('allow-dns', ns, {}, ['Egress'], egress=[{
      ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }],
      to: [{
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
        podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
      }],
    }]),
  ]
  + (if c.egress == [] then [] else [
       k.networkPolicy('allow-egress', ns, { matchLabels: selector }, ['Egress'], egress=[
         {
           ports: [{ port: p, protocol: 'TCP' } for p in e.ports],
           to: [{ ipBlock: { cidr: e.cidr } }],
         }
         for e in c.egress
       ]),
     ]);

local ingress(c, zone, ns, labels, domain) =
  local tls = zone.terminatesTls;
  local annotations =
    { 'traefik.ingress.kubernetes.io/router.entrypoints': if tls then 'websecure' else 'web' }
    + (if c.middlewares == [] then {} else {
         'traefik.ingress.kubernetes.io/router.middlewares':
           std.join(',', ['%s-%s@kubernetescrd' % [ns, m] for m in c.middlewares]),
       })
    + (if tls then {
         'traefik.ingress.kubernetes.io/router.tls': 'true',
         'traefik.ingress.kubernetes.io/router.tls.certresolver': 'letsencrypt',
       } else {});
  k.ingress('web', ns, labels, annotations, c.name + '.' + domain, tls);

{
  // [path, text] of every file of client `client` (as the catalog has it) in `zone`.
  files(client, zone, domain)::
    local c = {
      config: {},
      middlewares: [],
      secrets: [],
      egress: [],
    } + client;
    local dedicated = c.hosting == 'dedicated';
    local tier = tiers[c.hosting][c.size];
    local ns = (if dedicated then 'ded-' else 'sh-') + c.name;
    local selector = { 'app.kubernetes.io/instance': c.name, 'app.kubernetes.io/name': 'web' };
    local labels = k.managed + selector;
    local dir = 'clusters/%s/tenants/%s' % [zone.name, c.name];
    local mwSpecs = platform.middlewareSpecs(zone);
    local always = {
      'deployment.yaml': [deployment(c, zone, ns, tier, selector, labels)],
      'ingress.yaml': [ingress(c, zone, ns, labels, domain)],
      'namespace.yaml': [k.namespace(ns, {
        'pod-security.kubernetes.io/audit': 'restricted',
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/enforce-version': 'v' + zone.kubernetesVersion,
        'pod-security.kubernetes.io/warn': 'restricted',
        'tenantgen.io/client': c.name,
        'tenantgen.io/hosting': c.hosting,
        'tenantgen.io/size': c.size,
      })],
      'networkpolicy.yaml': networkPolicies(c, zone, ns, selector),
      'service.yaml': [k.service('web', ns, labels, selector)],
      'serviceaccount.yaml': [k.serviceAccount('web', ns, labels)],
    };
    local optional =
      (if c.config == {} then {} else {
         'configmap.yaml': [k.configMap('web-config', ns, c.config)],
       })
      + (if c.secrets == [] then {} else {
           'externalsecret.yaml': [k.externalSecret(s.name, ns, s.vaultPath) for s in c.secrets],
         })
      + (if c.middlewares == [] then {} else {
           'middleware.yaml': [k.middleware(m, ns, mwSpecs[m]) for m in c.middlewares],
         })
      // Dedicated clients autoscale inside a quota of their own.
      + (if !dedicated then {} else {
           'horizontalpodautoscaler.yaml': [
             k.horizontalPodAutoscaler('web', ns, labels, tier.replicas, autoscalingMax, cpuPercent),
           ],
           'limitrange.yaml': [k.limitRange(ns, tier)],
           'poddisruptionbudget.yaml': [
             k.podDisruptionBudget('web', ns, labels, selector, tier.replicas - 1),
           ],
           'resourcequota.yaml': [k.resourceQuota(ns, quota(tier))],
         });
    [[
      'clusters/%s/tenants/%s.yaml' % [zone.name, c.name],
      k.stream([k.fluxKustomization(
        ns,
        './' + dir,
        'infra-configs',
        labels=k.managed { 'tenantgen.io/client': c.name },
      )]),
    ]]
    + platform.directory(dir, always + optional),
}
