package cloud_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"time"
)

// sigV4 matches a SigV4 Authorization header and captures the access key
// id, the region and the service it was signed for.
var sigV4 = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request, SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$`)

// signedBy checks r's signature header and returns its key id, region and
// service, or an error that says what is missing.
func signedBy(r *http.Request) (key, region, service string, err error) {
	m := sigV4.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return "", "", "", fmt.Errorf("no SigV4 Authorization header in %q", r.Header.Get("Authorization"))
	}
	if r.Header.Get("X-Amz-Date") == "" {
		return "", "", "", fmt.Errorf("no X-Amz-Date header")
	}
	return m[1], m[2], m[3], nil
}

// fakeECR answers GetAuthorizationToken, checking the request as AWS would.
type fakeECR struct {
	*httptest.Server
	mu       sync.Mutex
	calls    int
	keys     []string // access key ids the requests were signed with
	problems []string
	password string
	proxy    string // proxyEndpoint to answer
	expires  time.Time
	failCode string // answer 400 with this error type when set
	wantHost string
}

func newFakeECR(region, proxy string) *fakeECR {
	f := &fakeECR{password: "ecr-password-" + region, proxy: proxy, expires: time.Now().Add(12 * time.Hour).Truncate(time.Second),
		wantHost: "api.ecr." + region + ".amazonaws.com"}
	f.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.calls++
		key, signedRegion, service, err := signedBy(r)
		switch {
		case err != nil:
			f.problems = append(f.problems, err.Error())
		case signedRegion != region || service != "ecr":
			f.problems = append(f.problems, fmt.Sprintf("signed for %s/%s, want %s/ecr", signedRegion, service, region))
		}
		f.keys = append(f.keys, key)
		if r.Host != f.wantHost {
			f.problems = append(f.problems, fmt.Sprintf("host %s, want %s", r.Host, f.wantHost))
		}
		if got := r.Header.Get("X-Amz-Target"); got != "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken" {
			f.problems = append(f.problems, "X-Amz-Target "+got)
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if f.failCode != "" {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"__type": f.failCode, "message": "User is not authorized to perform ecr:GetAuthorizationToken"})
			return
		}
		token := base64.StdEncoding.EncodeToString([]byte("AWS:" + f.password))
		_ = json.NewEncoder(w).Encode(map[string]any{"authorizationData": []map[string]any{{
			"authorizationToken": token, "expiresAt": f.expires.Unix(), "proxyEndpoint": f.proxy,
		}}})
	}))
	return f
}

func (f *fakeECR) report() (calls int, keys, problems []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls, append([]string(nil), f.keys...), append([]string(nil), f.problems...)
}

// fakeSTS answers AssumeRole with fresh keys per role, and records which
// keys signed each request, so that a spec sees the chain of roles.
type fakeSTS struct {
	*httptest.Server
	mu       sync.Mutex
	roles    []string
	keys     []string
	problems []string
	deny     string // role ARN to refuse
}

func newFakeSTS(region string) *fakeSTS {
	f := &fakeSTS{}
	f.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		key, signedRegion, service, err := signedBy(r)
		switch {
		case err != nil:
			f.problems = append(f.problems, err.Error())
		case signedRegion != region || service != "sts":
			f.problems = append(f.problems, fmt.Sprintf("signed for %s/%s, want %s/sts", signedRegion, service, region))
		}
		if want := "sts." + region + ".amazonaws.com"; r.Host != want {
			f.problems = append(f.problems, fmt.Sprintf("host %s, want %s", r.Host, want))
		}
		if err := r.ParseForm(); err != nil || r.PostForm.Get("Action") != "AssumeRole" {
			f.problems = append(f.problems, fmt.Sprintf("not an AssumeRole: %v %v", err, r.PostForm))
		}
		arn := r.PostForm.Get("RoleArn")
		f.roles = append(f.roles, arn)
		f.keys = append(f.keys, key)
		w.Header().Set("Content-Type", "text/xml")
		if arn == f.deny {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform sts:AssumeRole on %s</Message></Error><RequestId>r</RequestId></ErrorResponse>`, arn)
			return
		}
		n := len(f.roles)
		fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
<Credentials><AccessKeyId>ASIAROLE%d</AccessKeyId><SecretAccessKey>role-secret-%d</SecretAccessKey><SessionToken>role-session-%d</SessionToken><Expiration>%s</Expiration></Credentials>
<AssumedRoleUser><Arn>%s/session</Arn><AssumedRoleId>AROA%d:session</AssumedRoleId></AssumedRoleUser>
</AssumeRoleResult><ResponseMetadata><RequestId>r%d</RequestId></ResponseMetadata></AssumeRoleResponse>`,
			n, n, n, time.Now().Add(time.Hour).UTC().Format(time.RFC3339), arn, n, n)
	}))
	return f
}

func (f *fakeSTS) report() (roles, keys, problems []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.roles...), append([]string(nil), f.keys...), append([]string(nil), f.problems...)
}

// fakeIMDS is Azure's instance metadata token endpoint.
type fakeIMDS struct {
	*httptest.Server
	mu        sync.Mutex
	resources []string
	clientIDs []string
	problems  []string
	token     string
	status    int
}

func newFakeIMDS() *fakeIMDS {
	f := &fakeIMDS{token: "aad-access-token", status: http.StatusOK}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if r.URL.Path != "/metadata/identity/oauth2/token" || r.Header.Get("Metadata") != "true" {
			f.problems = append(f.problems, fmt.Sprintf("%s %s Metadata=%q", r.Method, r.URL.Path, r.Header.Get("Metadata")))
		}
		f.resources = append(f.resources, r.URL.Query().Get("resource"))
		f.clientIDs = append(f.clientIDs, r.URL.Query().Get("client_id"))
		w.Header().Set("Content-Type", "application/json")
		if f.status != http.StatusOK {
			w.WriteHeader(f.status)
			_, _ = w.Write([]byte(`{"error":"invalid_request","error_description":"Identity not found"}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{
			"access_token": f.token, "expires_in": "3600", "expires_on": fmt.Sprint(time.Now().Add(time.Hour).Unix()),
			"resource": r.URL.Query().Get("resource"), "token_type": "Bearer",
		})
	}))
	return f
}

func (f *fakeIMDS) report() (resources, clientIDs, problems []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.resources...), append([]string(nil), f.clientIDs...), append([]string(nil), f.problems...)
}

// fakeACR answers the token exchange and hands every other request to the
// registry behind it.
type fakeACR struct {
	*httptest.Server
	mu       sync.Mutex
	forms    []map[string]string
	refresh  string
	status   int
	registry http.Handler
	// challengeTenant, when set, answers the first /v2/ request (the
	// resolver's, which comes before the client's ping) with ACR's Bearer
	// challenge naming this tenant.
	challengeTenant string
	challenged      bool
}

func newFakeACR(registry http.Handler) *fakeACR {
	f := &fakeACR{refresh: jwt(time.Now().Add(3 * time.Hour)), status: http.StatusOK, registry: registry}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		if r.URL.Path == "/v2/" && f.challengeTenant != "" && !f.challenged {
			f.challenged = true
			f.mu.Unlock()
			w.Header().Set("Www-Authenticate", `Bearer realm="https://`+r.Host+`/oauth2/token?tenant=`+f.challengeTenant+`",service="`+r.Host+`"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Path != "/oauth2/exchange" {
			f.mu.Unlock()
			f.registry.ServeHTTP(w, r)
			return
		}
		defer f.mu.Unlock()
		_ = r.ParseForm()
		form := map[string]string{"host": r.Host}
		for k := range r.PostForm {
			form[k] = r.PostForm.Get(k)
		}
		f.forms = append(f.forms, form)
		if f.status != http.StatusOK {
			w.WriteHeader(f.status)
			// A careless server echoes what it was sent.
			fmt.Fprintf(w, `{"errors":[{"code":"UNAUTHORIZED","message":"token %s is not valid for tenant %s"}]}`, r.PostForm.Get("access_token"), r.PostForm.Get("tenant"))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"refresh_token": f.refresh})
	}))
	return f
}

func (f *fakeACR) exchanges() []map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]string(nil), f.forms...)
}

// jwt is an unsigned token that expires at exp, as ACR's refresh tokens
// carry their expiry.
func jwt(exp time.Time) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + enc.EncodeToString([]byte(fmt.Sprintf(`{"exp":%d}`, exp.Unix()))) + "." + strings.Repeat("s", 8)
}
