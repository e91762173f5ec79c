package api

// Readings is what the API needs of its service. (Placeholder: the routes are
// being written.)
type Readings interface{}

// readingRoutes adds its routes.
func (s *Server) readingRoutes(route routeFunc) {}
