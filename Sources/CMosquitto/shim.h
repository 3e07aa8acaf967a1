#ifndef TESSERA_CMOSQUITTO_SHIM_H
#define TESSERA_CMOSQUITTO_SHIM_H
// libmosquitto (Debian's libmosquitto-dev): the MQTT client under TesseraLocal's MQTTClient, for the
// device CLI (`tessera send`) and the local stack. Never linked into a Lambda function.
#include <mosquitto.h>
#endif
