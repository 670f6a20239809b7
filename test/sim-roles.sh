# sim-roles.sh - sourced: role_args ROLE prints the arguments a role's
# container needs to start alone with simulated hardware (its peers need
# not exist).  Used by the image test and the container benchmark.
role_args() {
	case $1 in
	ae)  echo "ae --db /data/ae.db --backup-dir /data/backup" ;;
	pd)  echo "pd --sensor sim --location entrance --mcs coap://127.0.0.1:5999" ;;
	bs)  echo "bs --adapter sim --location entrance --mcs coap://127.0.0.1:5999" ;;
	ug)  echo "ug --leds sim --route R1=1,2,3" ;;
	mcs) echo "mcs" ;;
	mrs) echo "mrs --room R1" ;;
	esac
}
