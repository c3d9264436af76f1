// BENCH-ONLY: panva's oidc-provider (pinned in package.json) set up to do the same work as
// authserver in benchmarks/side_by_side.py. Started and stopped by that script, from a
// copy in the npm cache directory (so `import 'oidc-provider'` finds its node_modules).
// Never a production configuration: throw-away keys, loopback only, no interactions.
//
// Environment (set by side_by_side.py):
//   BENCH_PORT     loopback port; the issuer is http://127.0.0.1:<port>
//   BENCH_CLIENTS  JSON list of {client_id, jwks, dpop}: private_key_jwt (ES256) clients
//                  allowed client_credentials; dpop true registers
//                  dpop_bound_access_tokens, like authserver's --dpop-bound-access-tokens
//   BENCH_SCOPE    the one scope both servers grant (accounts:read)
//   BENCH_ADAPTER  "map" (default): every stored entry is kept until it expires, so an
//                  assertion's or proof's jti is single use for its whole lifetime, as in
//                  authserver's Redis; "lru": oidc-provider's own MemoryAdapter, an LRU of
//                  1000 entries (it forgets older jtis; what the numbers used)
import { generateKeyPairSync } from 'node:crypto';

import Provider, { errors } from 'oidc-provider';

const port = Number(process.env.BENCH_PORT);
const scope = process.env.BENCH_SCOPE || 'accounts:read';
const clients = JSON.parse(process.env.BENCH_CLIENTS || '[]');
const issuer = `http://127.0.0.1:${port}`;

// Two resource servers: JWT access tokens signed PS256 (what authserver issues with
// AUTHSERVER_TOKENS__ACCESS_TOKEN_ALG=PS256), and opaque ones for the introspection
// scenario, because oidc-provider refuses to introspect structured (JWT) tokens.
const JWT_RESOURCE = 'urn:authserver-bench:jwt';
const OPAQUE_RESOURCE = 'urn:authserver-bench:opaque';
const FORMATS = { [JWT_RESOURCE]: 'jwt', [OPAQUE_RESOURCE]: 'opaque' };

// Kept until expiry (no LRU eviction): the single-use guarantee of authserver's Redis SET NX.
class MapAdapter {
  static entries = new Map();

  constructor(name) {
    this.name = name;
  }

  key(id) {
    return `${this.name}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : Infinity;
    MapAdapter.entries.set(this.key(id), { payload, expiresAt });
  }

  async find(id) {
    const entry = MapAdapter.entries.get(this.key(id));
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      MapAdapter.entries.delete(this.key(id));
      return undefined;
    }
    return entry.payload;
  }

  async findByUid() { return undefined; }

  async findByUserCode() { return undefined; }

  async consume(id) {
    const entry = MapAdapter.entries.get(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    MapAdapter.entries.delete(this.key(id));
  }

  async revokeByGrantId() {}
}

// Expired entries go in a sweep every 10 s, off the request path.
setInterval(() => {
  const now = Date.now();
  for (const [key, entry] of MapAdapter.entries) {
    if (entry.expiresAt <= now) MapAdapter.entries.delete(key);
  }
}, 10_000).unref();

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = {
  ...privateKey.export({ format: 'jwk' }), kid: 'bench-ps256', alg: 'PS256', use: 'sig',
};

const configuration = {
  adapter: process.env.BENCH_ADAPTER === 'lru' ? undefined : MapAdapter,
  clients: clients.map((client) => ({
    client_id: client.client_id,
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'ES256',
    jwks: client.jwks,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope,
    id_token_signed_response_alg: 'PS256', // the one signing key is PS256 (no ID tokens here)
    dpop_bound_access_tokens: Boolean(client.dpop),
  })),
  jwks: { keys: [signingKey] },
  scopes: [scope],
  cookies: { keys: ['bench-only-cookie-key-not-secret'] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    dPoP: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => JWT_RESOURCE,
      getResourceServerInfo: (ctx, resource) => {
        const format = FORMATS[resource];
        if (!format) throw new errors.InvalidTarget();
        return {
          scope,
          audience: resource,
          accessTokenTTL: 3600,
          accessTokenFormat: format,
          jwt: { sign: { alg: 'PS256' } },
        };
      },
    },
  },
};

const provider = new Provider(issuer, configuration);
provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});

const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
