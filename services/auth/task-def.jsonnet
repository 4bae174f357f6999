// auth: sign-in and token issuance. The signing key is read from SSM at
// task start; it never appears in this file, the stack config or the state.
local shop = import 'shop.libsonnet';

shop.task(
  port=8080,
  environment={ TOKEN_TTL_SECONDS: 900 },
  secrets={ JWT_SIGNING_KEY: '/shop/%s/auth/jwt-signing-key' % std.extVar('stack') },
)
