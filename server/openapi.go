package server

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPIDocument is the OpenAPI 3 document of every endpoint, served at
// GET /openapi.json. openapi_test.go checks the server's real answers
// against it, and that it lists exactly the routes the server has.
//
//go:embed openapi.json
var openAPIDocument []byte

// GET /openapi.json
func (srv *Server) openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIDocument)
}
