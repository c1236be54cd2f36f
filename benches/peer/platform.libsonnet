// platform.libsonnet: the default platform's three zones (what tenantgen assumes when a
// catalog names none, as the synthetic catalog does) and the files each zone gets besides its
// clients: the Flux entry points, Traefik and its middlewares, the platform's namespaces.
local k = import 'k8s.libsonnet';

local privateRanges = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];

// dev is a k3s cluster behind an edge proxy that terminates TLS, using the Traefik k3s
// bundles; staging and production run their own Traefik behind a load balancer, with ACME.
local zones = [
  {
    name: 'dev',
    production: false,
    kubernetesVersion: '1.34',
    bundledTraefik: true,
    ingressNamespace: 'kube-system',
    edgeCidrs: privateRanges,
    terminatesTls: false,
  },
  {
    name: 'staging',
    production: false,
    kubernetesVersion: '1.34',
    bundledTraefik: false,
    ingressNamespace: 'ge-ingress',
    edgeCidrs: [],
    terminatesTls: true,
    storageClass: 'upcloud-block-storage',
  },
  {
    name: 'production',
    production: true,
    kubernetesVersion: '1.34',
    bundledTraefik: false,
    ingressNamespace: 'ge-ingress',
    edgeCidrs: [],
    terminatesTls: true,
    storageClass: 'upcloud-block-storage',
  },
];

// The platform's own namespaces and the Pod Security level each enforces.
local platformNamespaces = [
  ['ge-hosting', 'restricted'],
  ['ge-system', 'baseline'],
  ['ge-agents', 'baseline'],
  ['ge-data', 'baseline'],
  ['ge-monitoring', 'privileged'],
];

local podSecurity(enforce) = {
  'pod-security.kubernetes.io/audit': 'restricted',
  'pod-security.kubernetes.io/enforce': enforce,
  'pod-security.kubernetes.io/warn': 'restricted',
};

// Behind an edge proxy the visitor's address is the first forwarded one: rate limits and
// allow-lists must look one hop back.
local behindEdge(zone) = std.length(zone.edgeCidrs) > 0;
local ipStrategy(zone) = if behindEdge(zone) then { ipStrategy: { depth: 1 } } else {};

local middlewareSpecs(zone) = {
  'ip-allowlist': { ipAllowList: { sourceRange: privateRanges } + ipStrategy(zone) },
  'rate-limit': {
    rateLimit: { average: 100, burst: 200, period: '1m' }
               + (if behindEdge(zone) then { sourceCriterion: ipStrategy(zone) } else {}),
  },
  'security-headers': {
    headers: {
      browserXssFilter: true,
      contentTypeNosniff: true,
      forceSTSHeader: true,
      frameDeny: true,
      referrerPolicy: 'strict-origin-when-cross-origin',
      stsIncludeSubdomains: true,
      stsPreload: true,
      stsSeconds: 31536000,
    },
  },
};

// The values of the Traefik k3s bundles, as the text its HelmChartConfig carries.
local bundledValues(zone) =
  local trusted = std.join(',', zone.edgeCidrs);
  |||
    additionalArguments:
      - "--entryPoints.web.forwardedHeaders.trustedIPs=%(trusted)s"
      - "--entryPoints.websecure.forwardedHeaders.trustedIPs=%(trusted)s"
    deployment:
      kind: Deployment
      replicas: 2
    ingressClass:
      enabled: false
    providers:
      kubernetesCRD:
        allowCrossNamespace: false
      kubernetesIngress:
        ingressClass: traefik
    service:
      type: ClusterIP
  ||| % { trusted: trusted };

local traefikRelease(zone) = {
  apiVersion: 'helm.toolkit.fluxcd.io/v2',
  kind: 'HelmRelease',
  metadata: k.meta('traefik', zone.ingressNamespace),
  spec: {
    chart: {
      spec: {
        chart: 'traefik',
        sourceRef: { kind: 'HelmRepository', name: 'traefik' },
        version: '39.0.5',
      },
    },
    install: { remediation: { retries: 3 } },
    interval: '30m',
    upgrade: { remediation: { remediateLastFailure: true, retries: 3 } },
    values: {
      additionalArguments: [
        '--entryPoints.web.http.redirections.entryPoint.to=:443',
        '--entryPoints.web.http.redirections.entryPoint.scheme=https',
        '--entryPoints.web.http.redirections.entryPoint.permanent=true',
        '--entryPoints.web.http.redirections.entryPoint.priority=1',
        '--certificatesresolvers.letsencrypt.acme.storage=/data/acme.json',
        '--certificatesresolvers.letsencrypt.acme.tlschallenge=true',
      ],
      deployment: { kind: 'Deployment', replicas: 1 },
      ingressClass: { enabled: false },
      persistence: { enabled: true, path: '/data', size: '128Mi', storageClass: zone.storageClass },
      providers: {
        kubernetesCRD: { allowCrossNamespace: false },
        kubernetesIngress: { ingressClass: 'traefik' },
      },
      service: { spec: { externalTrafficPolicy: 'Local' }, type: 'LoadBalancer' },
      // The ACME store is a ReadWriteOnce volume: the old pod must let go of it first.
      updateStrategy: { type: 'Recreate' },
    },
  },
};

local controllers(zone) =
  local namespaces =
    (if zone.bundledTraefik then [] else [
       k.namespace(zone.ingressNamespace, { 'app.kubernetes.io/component': 'ingress' } + podSecurity('baseline')),
     ])
    + [k.namespace(n[0], podSecurity(n[1])) for n in platformNamespaces];
  if zone.bundledTraefik then {
    'helmchartconfig.yaml': [{
      apiVersion: 'helm.cattle.io/v1',
      kind: 'HelmChartConfig',
      metadata: k.meta('traefik', zone.ingressNamespace),
      spec: { valuesContent: bundledValues(zone) },
    }],
    'namespace.yaml': namespaces,
  } else {
    'helmrelease.yaml': [traefikRelease(zone)],
    'helmrepository.yaml': [{
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'HelmRepository',
      metadata: k.meta('traefik', zone.ingressNamespace),
      spec: { interval: '24h', url: 'https://traefik.github.io/charts' },
    }],
    'namespace.yaml': namespaces,
  };

local configs(zone) =
  local specs = middlewareSpecs(zone);
  {
    'ingressclass.yaml': [{
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      metadata: k.meta('traefik'),
      spec: { controller: 'traefik.io/ingress-controller' },
    }],
    'middleware.yaml': [
      k.middleware(name, zone.ingressNamespace, specs[name])
      for name in std.objectFields(specs)
    ],
  };

// A directory of object files and the kustomization.yaml that lists them.
local directory(dir, files) =
  [[dir + '/' + name, k.stream(files[name])] for name in std.objectFields(files)]
  + [[dir + '/kustomization.yaml', k.kustomization(std.objectFields(files))]];

{
  zones: zones,
  middlewareSpecs: middlewareSpecs,
  directory: directory,

  // [path, text] of every file of the zone outside its clients' own; `clientNames` sorted.
  files(zone, clientNames)::
    local root = 'clusters/' + zone.name;
    [
      [root + '/kustomization.yaml', k.kustomization(['infrastructure.yaml', 'tenants.yaml'])],
      [root + '/infrastructure.yaml', k.stream([
        k.fluxKustomization('infra-controllers', './%s/infrastructure/controllers' % root),
        k.fluxKustomization('infra-configs', './%s/infrastructure/configs' % root, 'infra-controllers'),
      ])],
      [root + '/tenants.yaml', k.stream([
        k.fluxKustomization('tenants', './%s/tenants' % root, 'infra-configs', wait=false),
      ])],
      [root + '/tenants/kustomization.yaml', k.kustomization([n + '.yaml' for n in clientNames])],
    ]
    + directory(root + '/infrastructure/controllers', controllers(zone))
    + directory(root + '/infrastructure/configs', configs(zone)),
}
