// A client of our authorization server written with panva's oauth4webapi, used as its README
// shows: discovery, then each grant. Run by tests/conformance/test_oauth4webapi.py, one step per
// run: `node client.mjs STEP`, its configuration as JSON on stdin, its result as JSON on stdout.
// Every run starts with RFC 8414 discovery from the issuer, as a client that keeps nothing does.
//
// The issuer is plain http on loopback, so every request passes oauth4webapi's documented
// `allowInsecureRequests` option: a client-side switch, nothing the server knows about.
import * as oauth from 'oauth4webapi'

const insecure = { [oauth.allowInsecureRequests]: true }

async function readConfig() {
  let text = ''
  for await (const chunk of process.stdin) text += chunk
  return JSON.parse(text)
}

async function discover(issuer) {
  const issuerUrl = new URL(issuer)
  // RFC 8414's /.well-known/oauth-authorization-server, not OpenID Connect's document
  const response = await oauth.discoveryRequest(issuerUrl, { algorithm: 'oauth2', ...insecure })
  return oauth.processDiscoveryResponse(issuerUrl, response)
}

function authOf(config) {
  if (config.client_secret === undefined) return oauth.None()
  return config.auth === 'post'
    ? oauth.ClientSecretPost(config.client_secret)
    : oauth.ClientSecretBasic(config.client_secret)
}

// an OAuth error response as the library reports it, so the test can assert on it: a body
// error, or a 401 with its challenges (and the body the library leaves unread)
async function outcome(promise) {
  try {
    return { ok: await promise }
  } catch (err) {
    if (err instanceof oauth.ResponseBodyError) {
      return { error: err.error, status: err.status, description: err.error_description }
    }
    if (err instanceof oauth.WWWAuthenticateChallengeError) {
      const body = await err.response.json()
      return { error: body.error, status: err.status, challenges: err.cause }
    }
    throw err
  }
}

// the API, called with the token as a resource request, and the token checked the way an
// RFC 9068 resource server written with oauth4webapi would check it
async function useToken({ as, config }, accessToken) {
  const url = new URL('/me', config.api_url)
  const response = await oauth.protectedResourceRequest(
    accessToken, 'GET', url, undefined, undefined, insecure
  )
  const request = new Request(url, { headers: { authorization: `Bearer ${accessToken}` } })
  const claims = await oauth.validateJwtAccessToken(as, request, config.api_url, insecure)
  return { status: response.status, body: await response.json(), claims }
}

async function refresh({ as, client, auth }, refreshToken) {
  const response = await oauth.refreshTokenGrantRequest(as, client, auth, refreshToken, insecure)
  return oauth.processRefreshTokenResponse(as, client, response)
}

async function pollDevice({ as, client, auth, config }) {
  const response = await oauth.deviceCodeGrantRequest(
    as, client, auth, config.device_code, insecure
  )
  return oauth.processDeviceCodeResponse(as, client, response)
}

const scopeOf = (config) => new URLSearchParams({ scope: config.scope })

const steps = {
  async discover({ as }) {
    return { metadata: as }
  },

  async 'client-credentials'(context) {
    const { as, client, auth, config } = context
    const response = await oauth.clientCredentialsGrantRequest(
      as, client, auth, scopeOf(config), insecure
    )
    const answer = await outcome(oauth.processClientCredentialsResponse(as, client, response))
    if (answer.ok === undefined) return { refused: answer }
    return { tokens: answer.ok, api: await useToken(context, answer.ok.access_token) }
  },

  async authorize({ as, config }) {
    const codeVerifier = oauth.generateRandomCodeVerifier()
    const state = oauth.generateRandomState()
    const url = new URL(as.authorization_endpoint)
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: config.client_id,
      redirect_uri: config.redirect_uri,
      scope: config.scope,
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    }).toString()
    return { url: url.href, state, code_verifier: codeVerifier }
  },

  // an error sent back to the redirect URI, as the library reports it once it has checked the
  // callback's state and iss (which RFC 9207 requires on errors too)
  async 'callback-error'({ as, client, config }) {
    try {
      oauth.validateAuthResponse(as, client, new URL(config.callback), config.state)
    } catch (err) {
      if (err instanceof oauth.AuthorizationResponseError) {
        return { error: err.error, description: err.error_description }
      }
      throw err
    }
    return { error: null }
  },

  // the callback checked (state, and iss since the metadata promises it), the code exchanged,
  // the refresh token rotated, then the spent one presented again
  async code(context) {
    const { as, client, auth, config } = context
    const callback = oauth.validateAuthResponse(as, client, new URL(config.callback), config.state)
    const response = await oauth.authorizationCodeGrantRequest(
      as, client, auth, callback, config.redirect_uri, config.code_verifier, insecure
    )
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, response)
    const api = await useToken(context, tokens.access_token)
    const refreshed = await refresh(context, tokens.refresh_token)
    const reused = await outcome(refresh(context, tokens.refresh_token))
    const afterReuse = await outcome(refresh(context, refreshed.refresh_token))
    return { tokens, api, refreshed, reused, after_reuse: afterReuse }
  },

  async 'device-start'({ as, client, auth, config }) {
    const response = await oauth.deviceAuthorizationRequest(
      as, client, auth, scopeOf(config), insecure
    )
    return { device: await oauth.processDeviceAuthorizationResponse(as, client, response) }
  },

  // one poll of the device code, as the library reports it
  async 'device-poll'(context) {
    return outcome(pollDevice(context))
  },

  // the approved device code exchanged, then the grant revoked by its refresh token
  async 'device-finish'(context) {
    const { as, client, auth } = context
    const tokens = await pollDevice(context)
    const api = await useToken(context, tokens.access_token)
    const hint = { additionalParameters: { token_type_hint: 'refresh_token' }, ...insecure }
    const revocation = await oauth.revocationRequest(
      as, client, auth, tokens.refresh_token, hint
    )
    await oauth.processRevocationResponse(revocation)
    const afterRevoke = await outcome(refresh(context, tokens.refresh_token))
    return { tokens, api, revoked_status: revocation.status, after_revoke: afterRevoke }
  },
}

const step = steps[process.argv[2]]
if (step === undefined) {
  console.error(`usage: node client.mjs ${Object.keys(steps).join('|')} < config.json`)
  process.exit(2)
}
const config = await readConfig()
const context = {
  config,
  as: await discover(config.issuer),
  client: { client_id: config.client_id },
  auth: authOf(config),
}
process.stdout.write(JSON.stringify(await step(context)))
