package api

// Booking is what the API needs of its service. (Placeholder: the routes are
// being written.)
type Booking interface{}

// bookingRoutes adds its routes.
func (s *Server) bookingRoutes(route routeFunc) {}
