// tree.jsonnet: the jsonnet peer of `tenantgen render` for the synthetic catalog, for
// scripts/bench-peer. Given the catalog's YAML text as the top-level argument `catalog`, it
// parses it with std.parseYaml and evaluates to one flat object: every path of the `clusters/`
// tree tenantgen renders, mapped to that file's YAML text. `jrsonnet -S -c -m DIR` writes the
// tree; plain `jrsonnet` prints the object as one JSON document. Pass the catalog with
// `--tla-code "catalog=importstr '/abs/clients.yaml'"`: jrsonnet 0.5.0-pre98's
// `--tla-str-file catalog=FILE` fails ("can't resolve catalog from <default>").
// It covers what the synthetic catalog uses (hosting, size, versions, config, middlewares,
// secrets, egress) on the default platform, not the whole catalog format.
local platform = import 'platform.libsonnet';
local tenant = import 'tenant.libsonnet';

function(catalog)
  local spec = std.parseYaml(catalog).spec;
  local clients = std.sort(spec.clients, function(c) c.name);
  local files = std.flattenArrays([
    platform.files(zone, [c.name for c in clients])
    + std.flattenArrays([tenant.files(c, zone, spec.platform.domain) for c in clients])
    for zone in platform.zones
  ]);
  { [f[0]]: f[1] for f in files }
