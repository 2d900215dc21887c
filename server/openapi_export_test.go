package server

import "strings"

// Routes lists the routes srv serves as "METHOD /path", path parameters
// written as OpenAPI's {name}, for openapi_test.go.
func (srv *Server) Routes() []string {
	var out []string
	for _, r := range srv.e.Routes() {
		segs := strings.Split(r.Path, "/")
		for i, s := range segs {
			if strings.HasPrefix(s, ":") {
				segs[i] = "{" + s[1:] + "}"
			}
		}
		out = append(out, r.Method+" "+strings.Join(segs, "/"))
	}
	return out
}
