package registrytest

import (
	"crypto/subtle"
	"net/http"
)

// realm is the basic-auth realm every registry of this package announces.
const realm = "registrytest"

// requireBasicAuth answers 401 with a Basic challenge, as Distribution with
// htpasswd does, unless the request carries exactly these credentials. The
// /v2/ ping is guarded too: clients learn the auth scheme from its 401.
func requireBasicAuth(user, pass string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		// Both comparisons always run, so timing does not reveal which failed.
		userOK := subtle.ConstantTimeCompare([]byte(u), []byte(user))
		passOK := subtle.ConstantTimeCompare([]byte(p), []byte(pass))
		if !ok || userOK&passOK != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="`+realm+`"`)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}` + "\n"))
			return
		}
		next.ServeHTTP(w, r)
	})
}
