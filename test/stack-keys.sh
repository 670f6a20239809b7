# stack-keys.sh - sourced: the keys of stack.yml's building as Docker
# secrets, the way README "Keys" provisions them.
#   stack_keys FILE                 one keys file for the whole building
#   stack_secret_ids SERVICE        the identities SERVICE's secret holds
#   stack_secrets FILE PREFIX       PREFIXnano-keys-SERVICE for every service
#                                   (stack.yml reads them with NANO_SECRETS=PREFIX)
# Every service's secret holds its own line, those of who calls it, and
# the line of an admin identity of its own (admin-SERVICE); mrs's also
# kiosk-R1, whose key is the token of its kiosk page.
STACK_SERVICES="ae mcs mrs ug pd-entrance bs-entrance pd-room bs-room"

stack_secret_ids() {
	case $1 in
	ae)          echo ae mcs mrs-R1 ;;
	mcs)         echo mcs pd-entrance bs-entrance pd-R1 bs-R1 ;;
	mrs)         echo mrs-R1 mcs kiosk-R1 ;;
	ug)          echo ug mcs ;;
	pd-entrance) echo pd-entrance mcs ;;
	bs-entrance) echo bs-entrance mcs ;;
	pd-room)     echo pd-R1 mcs ;;
	bs-room)     echo bs-R1 mcs ;;
	esac
	echo "admin-$1"
}

stack_keys() {
	"$NANO" keys new ae mcs ug mrs-R1 kiosk-R1 pd-entrance bs-entrance pd-R1 bs-R1 \
		$(for svc in $STACK_SERVICES; do echo admin-$svc; done) >"$1"
}

stack_secrets() {
	for svc in $STACK_SERVICES; do
		"$NANO" keys pick "$1" $(stack_secret_ids $svc) |
			docker secret create "$2nano-keys-$svc" - >/dev/null || return 1
	done
}
