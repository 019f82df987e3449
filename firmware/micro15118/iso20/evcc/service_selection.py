"""ServiceSelection: the service and parameter set found in ServiceDetail."""

REQ = 'ServiceSelectionReq'
RES = 'ServiceSelectionRes'


def request(ev, now):
    ctx = ev.ctx
    return {'Header': ev.header(),
            'SelectedEnergyTransferService': {'ServiceID': ctx.service_id,
                                              'ParameterSetID': ctx.parameter_set_id}}


def response(ev, res, now):
    return 'selected'
