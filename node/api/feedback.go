package api

// Feedback is what the API needs of its service. (Placeholder: the routes are
// being written.)
type Feedback interface{}

// feedbackRoutes adds its routes.
func (s *Server) feedbackRoutes(route routeFunc) {}
