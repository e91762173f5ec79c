package api

// Followup is what the API needs of its service. (Placeholder: the routes are
// being written.)
type Followup interface{}

// followupRoutes adds its routes.
func (s *Server) followupRoutes(route routeFunc) {}
