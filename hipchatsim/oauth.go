package hipchatsim

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// handleToken is POST /v2/oauth/token, taking a form (as OAuth clients send it) or a JSON body:
//
//   - grant_type=password: username (the email) and password of a user created with a password →
//     a user token.
//   - grant_type=personal: the same credentials → a personal access token; or, with the Bearer
//     token of a group admin holding admin_group, user_id (id, email or @mention) → a personal
//     token for that user.
//   - grant_type=client_credentials: HTTP Basic auth with an add-on's client id and secret (from
//     the fixtures' "addons") → an add-on token valid for 8 hours on the injected clock.
//
// scope is a space-separated list; when absent the token gets every scope (user and personal) or
// the add-on's scopes. User and personal tokens do not expire (expires_in says ten years). The answer is
// {"access_token","expires_in","group_id","group_name","scope","token_type":"bearer"}
// ([INFERRED] from OAuth 2 and HipChat's add-on libraries). Bad credentials are 401, an unknown
// grant type or scope 400.
func (s *Server) handleToken(c *call) error {
	form, err := readTokenForm(c.r)
	if err != nil {
		return err
	}
	scopeField := strings.Fields(strings.ReplaceAll(form.Get("scope"), ",", " "))
	requested, err := parseScopes("scope", scopeField)
	if err != nil {
		return err
	}
	t := &token{created: c.now}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch grant := form.Get("grant_type"); grant {
	case "password", "personal":
		t.kind = kindUser
		if grant == "personal" {
			t.kind = kindPersonal
		}
		u, err := s.tokenUser(c, form, grant)
		if err != nil {
			return err
		}
		t.user = u
		t.scopes = allScopes
		if len(scopeField) > 0 {
			t.scopes = requested
		}
	case "client_credentials":
		id, secret, ok := c.r.BasicAuth()
		if !ok {
			id, secret = form.Get("client_id"), form.Get("client_secret")
		}
		cl := s.clients[id]
		if cl == nil || secret == "" || subtle.ConstantTimeCompare([]byte(cl.secret), []byte(secret)) != 1 {
			return errorf(http.StatusUnauthorized, "Invalid client credentials")
		}
		t.kind = kindAddon
		t.client = cl
		t.scopes = cl.scopes
		if len(scopeField) > 0 {
			if requested&^cl.scopes != 0 {
				return invalid("scope", "choice", form.Get("scope"), "The add-on may only request its own scopes: %s", cl.scopes)
			}
			t.scopes = requested
		}
		t.expires = c.now.Add(addonTokenLifetime)
	case "":
		return missing("grant_type")
	default:
		return invalid("grant_type", "choice", grant, "Unsupported grant_type: %s", grant)
	}
	t.value = s.randomToken()
	s.addToken(t)
	return c.json(http.StatusOK, s.tokenAnswer(t, c))
}

// tokenUser authenticates the user a password or personal grant is for; s.mu is held.
func (s *Server) tokenUser(c *call, form url.Values, grant string) (*user, error) {
	username, password := form.Get("username"), form.Get("password")
	if username == "" {
		if u, p, ok := c.r.BasicAuth(); ok {
			username, password = u, p
		}
	}
	if grant == "personal" && username == "" {
		raw, ok := bearer(c.r, url.Values{})
		admin := s.tokens[raw]
		if !ok || admin == nil || admin.user == nil || admin.user.deleted || !admin.user.admin || admin.scopes&scopeBit(scopeAdminGroup) == 0 {
			return nil, errorf(http.StatusUnauthorized, "Invalid user credentials")
		}
		ref := form.Get("user_id")
		if ref == "" {
			return nil, missing("user_id")
		}
		u := s.findUser(ref)
		if u == nil || u.deleted {
			return nil, userNotFound(ref)
		}
		return u, nil
	}
	if username == "" {
		return nil, missing("username")
	}
	u := s.findUser(username)
	if u == nil || u.deleted || !u.checkPassword(password) {
		return nil, errorf(http.StatusUnauthorized, "Invalid user credentials")
	}
	return u, nil
}

// neverExpiresIn is the expires_in of tokens that do not expire (user and personal): ten years, so
// that clients which refresh ahead of expiry never need to.
const neverExpiresIn = 10 * 365 * 24 * 3600

func (s *Server) tokenAnswer(t *token, c *call) map[string]any {
	expires := neverExpiresIn
	if !t.expires.IsZero() {
		expires = int(t.expires.Sub(c.now).Seconds())
	}
	return map[string]any{"access_token": t.value, "expires_in": expires, "group_id": groupID,
		"group_name": groupName, "scope": t.scopes.String(), "token_type": "bearer"}
}

// readTokenForm reads the token request as application/x-www-form-urlencoded or JSON; query
// parameters count too.
func readTokenForm(r *http.Request) (url.Values, error) {
	form := r.URL.Query()
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return nil, errInvalidJSON
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return form, nil
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/x-www-form-urlencoded":
		values, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, errorf(http.StatusBadRequest, "The request body cannot be parsed as a form")
		}
		for k, v := range values {
			form[k] = v
		}
	case "application/json":
		var f map[string]any
		if err := json.Unmarshal(body, &f); err != nil {
			return nil, errInvalidJSON
		}
		for k, v := range f {
			switch v := v.(type) {
			case string:
				form.Set(k, v)
			case []any:
				var parts []string
				for _, p := range v {
					if s, ok := p.(string); ok {
						parts = append(parts, s)
					}
				}
				form.Set(k, strings.Join(parts, " "))
			case float64:
				form.Set(k, strconv.FormatFloat(v, 'f', -1, 64))
			}
		}
	default:
		return nil, errContentType
	}
	return form, nil
}

// handleGetSession is GET /v2/oauth/token/{token}: the session of an access token. A token may read
// its own session; reading another's needs admin_group.
func handleGetSession(c *call) error {
	c.s.mu.RLock()
	defer c.s.mu.RUnlock()
	t, err := c.pathSession()
	if err != nil {
		return err
	}
	base := c.base()
	var owner, client any
	if t.user != nil {
		owner = t.user.stub(base)
		client = map[string]any{"client_id": "personal", "name": t.kind.String() + " token", "room": nil}
	}
	if t.client != nil {
		client = map[string]any{"client_id": t.client.id, "name": t.client.name, "room": nil}
	}
	if t.room != nil {
		client = map[string]any{"client_id": t.usage.sha[:16], "name": t.label,
			"room": map[string]any{"id": t.room.id, "links": map[string]any{"self": t.room.selfURL(base)}, "name": t.room.name}}
	}
	answer := c.s.tokenAnswer(t, c)
	delete(answer, "token_type")
	delete(answer, "scope")
	answer["scopes"] = t.scopes.names()
	answer["client"] = client
	answer["owner"] = owner
	answer["group"] = map[string]any{"id": groupID, "links": map[string]any{"self": base + "/v2/group/1"}, "name": groupName}
	delete(answer, "group_id")
	delete(answer, "group_name")
	return c.json(http.StatusOK, answer)
}

// handleDeleteSession is DELETE /v2/oauth/token/{token} → 204: the token stops working.
func handleDeleteSession(c *call) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	t, err := c.pathSession()
	if err != nil {
		return err
	}
	delete(c.s.tokens, t.value)
	return c.noContent()
}

// pathSession resolves {token}; callers hold s.mu.
func (c *call) pathSession() (*token, error) {
	value := c.r.PathValue("token")
	t := c.s.tokens[value]
	if t == nil || (!t.expires.IsZero() && !c.now.Before(t.expires)) {
		return nil, errorf(http.StatusNotFound, "Session not found")
	}
	if t != c.tok && c.tok.scopes&scopeBit(scopeAdminGroup) == 0 {
		return nil, scopeError([]string{scopeAdminGroup})
	}
	return t, nil
}

// handleCapabilities is GET /v2/capabilities: the capabilities descriptor of the HipChat server, with
// its OAuth and API endpoints at the emulator. No token needed.
func handleCapabilities(c *call) error {
	base := c.base()
	scopes := map[string]any{}
	for _, n := range scopeNames {
		scopes[n] = map[string]any{"id": n, "name": n}
	}
	return c.json(http.StatusOK, map[string]any{
		"capabilities": map[string]any{
			"hipchatApiProvider": map[string]any{"availableScopes": scopes, "url": base + "/v2/"},
			"oauth2Provider":     map[string]any{"authorizationUrl": base + "/users/authorize", "tokenUrl": base + "/v2/oauth/token"},
		},
		"description": "HipChat v2 API (emulator)",
		"key":         "hipchat",
		"links":       map[string]any{"api": base + "/v2", "homepage": base, "self": base + "/v2/capabilities"},
		"name":        "HipChat",
		"vendor":      map[string]any{"name": "Atlassian", "url": "http://atlassian.com"},
	})
}
