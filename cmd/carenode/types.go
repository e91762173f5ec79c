package main

import "carenode/node/identity"

type identityT = identity.Identity
