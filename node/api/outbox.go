package api

// Outbox is what the API needs of its service. (Placeholder: the routes are
// being written.)
type Outbox interface{}

// outboxRoutes adds its routes.
func (s *Server) outboxRoutes(route routeFunc) {}
